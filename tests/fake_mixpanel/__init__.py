"""A fake Mixpanel ingestion API that validates like Mixpanel does — the only fake in segmix's tests.

Stdlib only, no Django. segmix reaches it through `SEGMIX_MIXPANEL_API_URL = mp.url`.

In-process::

    with FakeMixpanel() as mp:                  # 127.0.0.1, ephemeral port
        settings.SEGMIX_MIXPANEL_API_URL = mp.url
        ...
        assert [r["event"] for r in mp.deduped("/import")] == ["Order Completed"]
        assert mp.stats()["duplicates"] == 1
        assert mp.profile("user-1") == {"plan": "pro"}

Standalone (end-to-end tests and benchmarks in other processes)::

    python -m tests.fake_mixpanel --port 8765 [--project-token T --api-secret S \\
        --service-account user:secret --project-id 123] [--latency-ms N] [--no-record-bodies]

prints its URL on the first line of stdout and runs until SIGTERM/SIGINT.

Projects: `Project(token, api_secret, project_id, service_accounts={user: secret})`; the
default project uses the `DEFAULT_*` credentials below.

Mixpanel endpoints (strict reading of `docs`' mixpanel-api.md):

* `POST /import?strict=1|0[&project_id=]` — Basic auth by service account (+`project_id`),
  project token or API secret; JSON array or ndjson, plain or gzip; ≤ 2000 records
  (more → 413 by default, `too_many_records_status`); ≤ `max_body_bytes` uncompressed
  (10,000,000 → 413); per-record rules in `events.py`. 200 / partial 400 with `failed_records`
  (valid records are ingested) / strict=0 drops silently.
* `POST /engage`, `POST /groups` (`?verbose=1`): JSON array or form `data=`; no gzip; rules in
  `profiles.py`. 200 with `{"status": 1|0, "error"}` (or text `1`/`0` without verbose). A bad
  update makes the answer 0; the valid updates of the batch are still applied.
* `POST /track` (`?verbose=1`): form `data=` (JSON or base64), gzip allowed, token in
  `properties.token` (unknown token: dropped silently, still answers 1).
* `POST /api/app/validate-project-credentials/`, `GET /api/app/me`: credential checks.

Control API for other processes (all JSON):

* `GET /_fake/records[?endpoint=/import]` → `{"records": [...]}` accepted events in arrival
  order: `{seq, endpoint, project_token, request_seq, index, event, properties}`.
* `GET /_fake/deduped[?endpoint=]` → same, one per (project, event, distinct_id, time in ms,
  `$insert_id`), latest version, with `copies`.
* `GET /_fake/stats` → `requests`, `requests_by_path`, `responses_by_status` ("closed" for
  dropped connections), `records_by_endpoint`, `events`, `distinct_dedup_keys`,
  `duplicates`, `failed_records`, `dropped_records` (+ `_by_endpoint`), `profile_updates`,
  `scripted_responses`, `scripts_pending`, `min_event_time`/`max_event_time` (s),
  `internal_errors`.
* `GET /_fake/requests[?path=]` → `{"requests": [...]}` with method, path, query, headers,
  decoded `body` (None with `--no-record-bodies`), `status` (None when closed), `response`,
  `scripted`, `closed`, `duration_ms`, `auth`/`project_token` on `/import`.
* `GET /_fake/profiles` → `{"profiles", "groups", "add_totals"}` keyed by token;
  `GET /_fake/profile-updates`; `GET /_fake/scripts`; `GET /_fake/health`.
* `POST /_fake/script` with one or a list of `{"path", "status", "body", "headers", "times",
  "delay", "close", "ingest"}` (see `FakeMixpanel.script`); `POST /_fake/reset`;
  `POST /_fake/config` with `{"latency_ms": N}`.
"""

from __future__ import annotations

from .events import Failure, check_import_record, check_track_event
from .profiles import check_update
from .server import FakeMixpanel
from .store import (
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_ID,
    DEFAULT_SA_SECRET,
    DEFAULT_SA_USERNAME,
    DEFAULT_TOKEN,
    Project,
    ScriptedResponse,
)

__all__ = [
    "DEFAULT_API_SECRET",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_SA_SECRET",
    "DEFAULT_SA_USERNAME",
    "DEFAULT_TOKEN",
    "FakeMixpanel",
    "Failure",
    "Project",
    "ScriptedResponse",
    "check_import_record",
    "check_track_event",
    "check_update",
]
