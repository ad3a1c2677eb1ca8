"""Thread-safe memory of everything the fake Mixpanel accepted, refused and was told to do.

Every public method takes the one lock and returns copies, so handler threads and test
threads (or the `/_fake/` API) never see a half-applied request.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .events import time_in_ms, time_in_seconds
from .profiles import apply_update

DEFAULT_TOKEN = "fake-project-token"
DEFAULT_API_SECRET = "fake-api-secret"
DEFAULT_SA_USERNAME = "fake-sa.user"
DEFAULT_SA_SECRET = "fake-sa-secret"
DEFAULT_PROJECT_ID = "123"


@dataclass
class Project:
    """One Mixpanel project and the credentials that reach it."""

    token: str = DEFAULT_TOKEN
    api_secret: str | None = DEFAULT_API_SECRET
    project_id: str = DEFAULT_PROJECT_ID
    # username → secret; each account is Owner/Admin of this project.
    service_accounts: dict[str, str] = field(
        default_factory=lambda: {DEFAULT_SA_USERNAME: DEFAULT_SA_SECRET}
    )
    name: str = "Fake project"


@dataclass
class ScriptedResponse:
    """A response served instead of (or around) the real handling; see `FakeMixpanel.script`."""

    path: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: every matching request until reset
    delay: float = 0.0
    close: bool = False
    ingest: bool = False

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or self.path.startswith("/_fake"):
            raise ValueError("path must be an API path prefix such as '/import'")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be ≥ 1 (or None for unlimited)")


class Store:
    """Accepted events (raw and deduplicated), profiles, the request log and the scripts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything, scripts included; configuration is kept by the caller."""
        with self._lock:
            self._records: list[dict[str, Any]] = []
            self._deduped: dict[tuple[Any, ...], dict[str, Any]] = {}
            self._copies: Counter[tuple[Any, ...]] = Counter()
            self._generated_ids = 0
            self._profile_updates: list[dict[str, Any]] = []
            self._profiles: dict[str, dict[str, dict[str, Any]]] = {}
            self._groups: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
            self._add_totals: dict[str, dict[str, dict[str, float]]] = {}
            self._requests: list[dict[str, Any]] = []
            self._scripts: list[ScriptedResponse] = []
            self._counts: Counter[str] = Counter()

    # -- ingestion -----------------------------------------------------------------------

    def add_events(
        self, endpoint: str, token: str, request_seq: int, events: list[tuple[int, dict]]
    ) -> None:
        """Store accepted `(index, record)` pairs of one request, keeping arrival order."""
        with self._lock:
            for index, record in events:
                # Parsed afresh for each request and never mutated: no copy needed here.
                properties = record.get("properties", {})
                entry = {
                    "seq": len(self._records),
                    "endpoint": endpoint,
                    "project_token": token,
                    "request_seq": request_seq,
                    "index": index,
                    "event": record["event"],
                    "properties": properties,
                }
                self._records.append(entry)
                self._counts[f"records:{endpoint}"] += 1
                key = self._dedup_key(token, entry)
                # Query-time dedup shows the most recently ingested version (§8); re-assigning
                # an existing key keeps its first-arrival position.
                self._deduped[key] = entry
                self._copies[key] += 1

    def _dedup_key(self, token: str, entry: dict[str, Any]) -> tuple[Any, ...]:
        properties = entry["properties"]
        insert_id = properties.get("$insert_id")
        if insert_id is None:
            # Mixpanel generates an id for such records, so they never deduplicate.
            self._generated_ids += 1
            insert_id = ("generated", self._generated_ids)
        time = properties.get("time")
        time_key = time_in_ms(time) if time is not None else ("arrival", entry["seq"])
        return (token, entry["event"], properties.get("distinct_id"), time_key, insert_id)

    def count(self, name: str, amount: int = 1) -> None:
        """Bump a counter reported by `stats()`: `failed:<endpoint>` or `dropped:<endpoint>`."""
        with self._lock:
            self._counts[name] += amount

    def apply_profile_updates(
        self, endpoint: str, request_seq: int, updates: list[tuple[int, dict]]
    ) -> None:
        """Record and apply accepted `/engage` or `/groups` updates, in order."""
        with self._lock:
            for index, update in updates:
                self._profile_updates.append(
                    {"endpoint": endpoint, "request_seq": request_seq, "index": index, **update}
                )
                self._counts[f"records:{endpoint}"] += 1
                token = update["$token"]
                if endpoint == "/groups":
                    by_key = self._groups.setdefault(token, {})
                    profiles = by_key.setdefault(update["$group_key"], {})
                    apply_update(profiles, update["$group_id"], update)
                    continue
                apply_update(self._profiles.setdefault(token, {}), update["$distinct_id"], update)
                for name, amount in update.get("$add", {}).items():
                    totals = self._add_totals.setdefault(token, {})
                    person = totals.setdefault(update["$distinct_id"], {})
                    person[name] = person.get(name, 0) + amount

    # -- scripts and request log ---------------------------------------------------------

    def add_script(self, script: ScriptedResponse) -> None:
        with self._lock:
            self._scripts.append(script)

    def take_script(self, path: str) -> ScriptedResponse | None:
        """The first queued script whose prefix matches `path`, consuming one use of it."""
        with self._lock:
            for position, script in enumerate(self._scripts):
                if path.startswith(script.path):
                    if script.times is not None:
                        script.times -= 1
                        if script.times == 0:
                            del self._scripts[position]
                    self._counts["scripted_responses"] += 1
                    return copy.copy(script)
            return None

    def next_request_seq(self, entry: dict[str, Any]) -> int:
        """Append a request-log entry (completed later by `finish_request`); return its seq."""
        with self._lock:
            entry["seq"] = len(self._requests)
            self._requests.append(entry)
            self._counts["requests"] += 1
            self._counts[f"requests:{entry['path']}"] += 1
            return entry["seq"]

    def finish_request(self, seq: int, **fields: Any) -> None:
        with self._lock:
            self._requests[seq].update(fields)
            status = fields.get("status")
            self._counts[f"status:{status if status is not None else 'closed'}"] += 1

    # -- inspection ----------------------------------------------------------------------

    def records(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [r for r in self._records if endpoint in (None, r["endpoint"])]
            return copy.deepcopy(found)

    def deduped(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                {**entry, "copies": self._copies[key]}
                for key, entry in self._deduped.items()
                if endpoint in (None, entry["endpoint"])
            ]
            return copy.deepcopy(found)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy([r for r in self._requests if path in (None, r["path"])])

    def profile_updates(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [u for u in self._profile_updates if endpoint in (None, u["endpoint"])]
            return copy.deepcopy(found)

    def profiles(self) -> dict[str, Any]:
        """`{"profiles": {token: {id: props}}, "groups": {token: {key: {id: props}}},
        "add_totals": {token: {id: {prop: sum}}}}`."""
        with self._lock:
            return copy.deepcopy(
                {"profiles": self._profiles, "groups": self._groups, "add_totals": self._add_totals}
            )

    def scripts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(s) for s in self._scripts]

    def stats(self) -> dict[str, Any]:
        """Counters for end-to-end assertions and benchmarks (see the package docstring)."""
        with self._lock:
            counts = self._counts

            def prefixed(prefix: str) -> dict[str, int]:
                return {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix)}

            times = [
                time_in_seconds(r["properties"]["time"])
                for r in self._records
                if isinstance(r["properties"].get("time"), int | float)
            ]
            return {
                "requests": counts["requests"],
                "requests_by_path": prefixed("requests:"),
                "responses_by_status": prefixed("status:"),
                "records_by_endpoint": prefixed("records:"),
                "events": len(self._records),
                "distinct_dedup_keys": len(self._deduped),
                "duplicates": len(self._records) - len(self._deduped),
                "failed_records": sum(prefixed("failed:").values()),
                "failed_by_endpoint": prefixed("failed:"),
                "dropped_records": sum(prefixed("dropped:").values()),
                "dropped_by_endpoint": prefixed("dropped:"),
                "profile_updates": len(self._profile_updates),
                "scripted_responses": counts["scripted_responses"],
                "scripts_pending": len(self._scripts),
                "min_event_time": min(times, default=None),
                "max_event_time": max(times, default=None),
            }
