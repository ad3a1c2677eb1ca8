"""Mixpanel records → the exact HTTP requests segmix sends (spec §3.2, §4, §14). Pure.

``build_requests`` is what the worker sends and what the console preview shows: one function, so
the preview cannot drift from live delivery. Nothing here does I/O; ``mappings.http.send`` takes a
``PreparedRequest`` as is.

>>> s = MixpanelSettings(project_token="tok", api_region="EU")
>>> [r] = build_requests([Record("engage", {"$token": "tok", "$distinct_id": "u1", "$set": {}},
...                              "profile")], s, api_url_override=None, user_agent="segmix/0")
>>> r.url, r.body
('https://api-eu.mixpanel.com/engage?verbose=1', b'[{"$token":"tok","$distinct_id":"u1","$set":{}}]')
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs, quote, quote_plus

import orjson

from mappings.jsoncodec import dumps_compact, loads_exact

from .types import MixpanelSettings, Record, SettingsError

HOSTS = {
    "US": "https://api.mixpanel.com",
    "EU": "https://api-eu.mixpanel.com",
    "IN": "https://api-in.mixpanel.com",
}
MAX_RECORDS_PER_REQUEST = 2000  # Mixpanel's documented limit on every ingestion endpoint.
# Mixpanel rejects records over 1 MB; we read "MB" as 10^6 bytes, the stricter reading.
RECORD_MAX_BYTES = 1_000_000
MASK = "••••••"

Format = Literal["json", "form", "none"]


@dataclass(frozen=True, repr=False)
class PreparedRequest:
    """One HTTP request, byte for byte as sent, plus the records it carries.

    ``records[k]`` is the record at position ``k`` of the body's JSON array (the manifest that
    §14.4 attributes ``failed_records[].index`` against). ``body`` is the wire body (gzip for
    ``/import``). ``auth_label`` names the Authorization mode for display; ``secrets`` are values
    the display helpers redact (only the credential check carries any in its body).
    """

    method: str
    url: str
    endpoint: str
    headers: dict[str, str]
    body: bytes
    format: Format
    records: tuple[Record, ...] = ()
    gzipped: bool = False
    uncompressed_bytes: int = 0
    auth_label: str | None = None
    secrets: tuple[str, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        # Never the body or headers: Authorization is reversible base64.
        return f"<PreparedRequest {self.method} {self.url} records={self.record_count}>"

    @property
    def record_count(self) -> int:
        return len(self.records)

    @property
    def gzip_bytes(self) -> int | None:
        return len(self.body) if self.gzipped else None

    def sizes(self) -> dict[str, int | None]:
        """Record count, uncompressed body bytes and gzip bytes (``None`` when not gzipped)."""
        return {
            "records": self.record_count,
            "uncompressed_bytes": self.uncompressed_bytes,
            "gzip_bytes": self.gzip_bytes,
        }

    def raw_body(self) -> bytes:
        """The body before Content-Encoding (what Mixpanel's size limits measure)."""
        return gzip.decompress(self.body) if self.gzipped else self.body

    def decoded_body(self) -> Any:
        """The JSON array for ``json``; the parsed ``data`` field for ``form``; ``None`` if empty.

        Secret values (credential check only) are replaced by ``••••••``.
        """
        raw = self.raw_body()
        if self.format == "none" or not raw:
            return None
        if self.format == "form":
            raw = parse_qs(raw.decode("ascii"), keep_blank_values=True)["data"][0].encode()
        return redact(loads_exact(raw), self.secrets)  # exact for integers over 64 bits

    def display_body(self) -> str:
        """Pretty-printed decoded body for the console (``data=`` prefix for form bodies)."""
        decoded = self.decoded_body()
        if decoded is None:
            return ""
        text = json.dumps(decoded, indent=2, ensure_ascii=False)
        return f"data={text}" if self.format == "form" else text

    def masked_headers(self) -> dict[str, str]:
        """Headers with Authorization masked and labelled, e.g. ``Basic •••••• (API secret)``."""
        masked = dict(self.headers)
        if "Authorization" in masked:
            label = f" ({self.auth_label})" if self.auth_label else ""
            masked["Authorization"] = f"Basic {MASK}{label}"
        return masked


def api_base(settings: MixpanelSettings, api_url_override: str | None) -> str:
    """Scheme + host (+ path prefix) for the ingestion endpoints (§3.2)."""
    if api_url_override:
        return api_url_override.rstrip("/")
    region = str(settings.api_region or "US").split(" ")[0]
    if region not in HOSTS:
        raise SettingsError(
            ['Data Residency must be one of: "US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳", "US", "EU", or "IN".']
        )
    return HOSTS[region]


def endpoint_url(endpoint: str, settings: MixpanelSettings, api_url_override: str | None) -> str:
    """Full URL with query for an ingestion endpoint (§4, §14.2, §14.3)."""
    base = api_base(settings, api_url_override)
    if endpoint != "import":
        return f"{base}/{endpoint}?verbose=1"
    url = f"{base}/import?strict={settings.strict_mode or '1'}"
    if settings.import_auth_mode == "service_account":
        url += f"&project_id={quote(str(settings.project_id or ''), safe='')}"
    return url


def import_authorization(settings: MixpanelSettings) -> tuple[str, str]:
    """``(Authorization value, display label)`` for ``/import`` (§4 precedence, D3)."""
    mode = settings.import_auth_mode
    if mode == "service_account":
        user = settings.service_account_username or ""
        return _basic(user, settings.service_account_secret or ""), f'service account "{user}"'
    if mode == "api_secret":
        return _basic(settings.api_secret or "", ""), "API secret"
    return _basic(settings.project_token, ""), "project token"


def build_requests(
    records: list[Record],
    settings: MixpanelSettings,
    *,
    api_url_override: str | None,
    user_agent: str,
    batch_size: int = 1000,
    import_max_bytes: int = 9_500_000,
    profile_batch_size: int = 2000,
) -> list[PreparedRequest]:
    """Split ``records`` into requests, in sending order.

    Contract:

    * records of different endpoints never share a request. Endpoints are emitted in order of
      first appearance, except that an endpoint holding a ``gates_following`` record (original-mode
      ``$identify`` on ``/track``) goes first, so gated records never precede their gate;
    * within an endpoint, records keep their order;
    * ``/import``: at most ``batch_size`` records and ``import_max_bytes`` of uncompressed JSON per
      request; a purchase (``order`` + ``product[i]`` records) stays in one request when it fits in
      one, starting a new request if needed, else it continues across the fewest requests;
    * ``/engage``, ``/groups``, ``/track``: at most ``profile_batch_size`` records, same byte cap;
    * every count limit is clamped to Mixpanel's 2000;
    * a record with ``isolate=True``, or over 1 MB or the byte cap, travels alone.

    Identical input gives byte-identical output (gzip with ``mtime=0``), so retries resend the same
    bytes.
    """
    by_endpoint: dict[str, list[Record]] = {}
    for record in records:
        by_endpoint.setdefault(record.endpoint, []).append(record)
    gated_first = sorted(
        by_endpoint, key=lambda ep: not any(r.gates_following for r in by_endpoint[ep])
    )
    out: list[PreparedRequest] = []
    for endpoint in gated_first:
        limit = batch_size if endpoint == "import" else profile_batch_size
        limit = max(1, min(int(limit), MAX_RECORDS_PER_REQUEST))
        serialized = [(r, serialize_record(r.body)) for r in by_endpoint[endpoint]]
        for chunk in _pack(serialized, limit, max(1, import_max_bytes)):
            out.append(_prepare(endpoint, chunk, settings, api_url_override, user_agent))
    return out


def with_records(request: PreparedRequest, records: Iterable[Record]) -> PreparedRequest:
    """The same request (URL, auth, headers) carrying only ``records``.

    Used for §15's 413 split (halves) and §14.5's resend-alone, without needing settings again.
    """
    records = list(records)
    serialized = [(r, serialize_record(r.body)) for r in records]
    body, raw_len = _encode(request.endpoint, [b for _, b in serialized])
    return replace(request, records=tuple(records), body=body, uncompressed_bytes=raw_len)


def split_in_half(request: PreparedRequest) -> list[PreparedRequest]:
    """§15 413 handling: two requests with the first and second half of the records."""
    half = (len(request.records) + 1) // 2
    if len(request.records) < 2:
        return [request]
    return [
        with_records(request, request.records[:half]),
        with_records(request, request.records[half:]),
    ]


def serialize_record(value: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped, as Segment's ``JSON.stringify`` would emit it.

    orjson is fast but refuses integers beyond 64 bits, lone surrogates and non-string keys; those
    records go through ``json`` instead. Lone surrogates are written as ``\\udXXX`` escapes (what
    JavaScript emits) and non-finite floats as ``null``, so the output is always valid JSON.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        return dumps_compact(_js_compatible(value))


# --- internals ---------------------------------------------------------------------------------

_HEADERS_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _js_compatible(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {_js_key(k): _js_compatible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_js_compatible(v) for v in value]
    return value


def _js_key(key: Any) -> str:
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def _units(serialized: list[tuple[Record, bytes]]) -> list[list[tuple[Record, bytes]]]:
    """Group each purchase's ``order`` and following ``product[i]`` records; others stand alone."""
    units: list[list[tuple[Record, bytes]]] = []
    for item in serialized:
        if units and item[0].kind.startswith("product") and units[-1][0][0].kind == "order":
            units[-1].append(item)
        else:
            units.append([item])
    return units


def _pack(
    serialized: list[tuple[Record, bytes]], limit: int, max_bytes: int
) -> list[list[tuple[Record, bytes]]]:
    chunks: list[list[tuple[Record, bytes]]] = []
    current: list[tuple[Record, bytes]] = []
    used = 1  # "[" + "]" minus the comma the first record does not need

    def flush() -> None:
        nonlocal current, used
        if current:
            chunks.append(current)
        current, used = [], 1

    def add(item: tuple[Record, bytes]) -> None:
        nonlocal used
        if len(current) + 1 > limit or used + len(item[1]) + 1 > max_bytes:
            flush()
        current.append(item)
        used += len(item[1]) + 1  # +1 for the comma

    for unit in _units(serialized):
        if any(_travels_alone(item, max_bytes) for item in unit):
            # Break the unit around records that must travel alone, keeping order.
            for item in unit:
                if _travels_alone(item, max_bytes):
                    flush()
                    chunks.append([item])
                else:
                    add(item)
            continue
        size = sum(len(b) + 1 for _, b in unit)
        if len(current) + len(unit) > limit or used + size > max_bytes:
            flush()  # a fresh request: the unit fits whole, or spans the fewest requests
        for item in unit:
            add(item)
    flush()
    return chunks


def _travels_alone(item: tuple[Record, bytes], max_bytes: int) -> bool:
    record, body = item
    return record.isolate or len(body) > RECORD_MAX_BYTES or len(body) + 2 > max_bytes


def _encode(endpoint: str, parts: list[bytes]) -> tuple[bytes, int]:
    array = b"[" + b",".join(parts) + b"]"
    if endpoint == "import":
        # mtime=0: identical retries are byte-identical.
        return gzip.compress(array, compresslevel=6, mtime=0), len(array)
    if endpoint == "track":
        form = b"data=" + quote_plus(array).encode("ascii")
        return form, len(form)
    return array, len(array)


def _prepare(
    endpoint: str,
    chunk: list[tuple[Record, bytes]],
    settings: MixpanelSettings,
    api_url_override: str | None,
    user_agent: str,
) -> PreparedRequest:
    body, raw_len = _encode(endpoint, [b for _, b in chunk])
    auth_label = None
    if endpoint == "import":
        authorization, auth_label = import_authorization(settings)
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept": "application/json",
            "Authorization": authorization,
            "User-Agent": user_agent,
        }
    elif endpoint == "track":
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
    else:
        headers = {**_HEADERS_JSON, "User-Agent": user_agent}
    return PreparedRequest(
        method="POST",
        url=endpoint_url(endpoint, settings, api_url_override),
        endpoint=endpoint,
        headers=headers,
        body=body,
        format="form" if endpoint == "track" else "json",
        records=tuple(r for r, _ in chunk),
        gzipped=endpoint == "import",
        uncompressed_bytes=raw_len,
        auth_label=auth_label,
    )


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` (text, or JSON at any depth) with every secret in ``secrets`` masked."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value
