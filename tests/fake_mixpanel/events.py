"""Event validation as Mixpanel's `/import` (strict) and `/track` apply it — pure, no I/O.

Rules follow the strict reading of `mixpanel-api.md` §3.2/§3.3/§4. Where Mixpanel's own texts
are known they are reused verbatim; the others are ours, in the same style, so tests must not
assert on them beyond the `field`.

Each check returns the first `Failure` of a record (Mixpanel lists one entry per failed
record), or `None` when the record would be ingested.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# §3.2. Compared after strip + lower-case: the list's case sensitivity is UNCONFIRMED and the
# strict reading rejects "NULL" as well as "null".
PLACEHOLDER_IDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "anon",
        "anonymous",
        "nil",
        "none",
        "null",
        "n/a",
        "na",
        "undefined",
        "unknown",
        "<nil>",
        "0",
        "-1",
        "true",
        "false",
        "[]",
        "{}",
    }
)

MIN_TIME_S = 31_536_000  # 1971-01-01T00:00:00Z
MS_THRESHOLD = 100_000_000_000  # ≥ 1e11 is read as milliseconds (year 5138 in seconds)
MAX_FUTURE_S = 3600
TRACK_MAX_AGE_S = 5 * 86_400
# "MB"/"KB" are read as powers of ten: the smaller, hence stricter, of the two readings.
MAX_RECORD_BYTES = 1_000_000
MAX_KEYS = 255  # "fewer than 255": 255 keys is already rejected, reserved keys included
MAX_LIST_ITEMS = 255
MAX_NESTING = 3
MAX_COLLECTION_BYTES = 8_000
_INSERT_ID = re.compile(r"[A-Za-z0-9-]+")
MAX_INSERT_ID_BYTES = 36

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

TIME_MESSAGE = "'properties.time' is invalid: must be specified as seconds since epoch"


@dataclass(frozen=True)
class Failure:
    """Why one record was rejected, as Mixpanel reports it in `failed_records`."""

    field: str
    message: str


def body_needs_measuring(body: bytes) -> bool:
    """False when no record of `body` can be ≥ 1 MB or hold invalid UTF-8, so the per-record
    serialization in `check_properties` can be skipped (a compact re-serialization of a
    record is never longer than its source text; surrogate pairs merely take the slow path).
    """
    if len(body) >= MAX_RECORD_BYTES or _SURROGATE_ESCAPE.search(body):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def is_placeholder(value: str) -> bool:
    """True for the ids Mixpanel refuses as `distinct_id` / `$insert_id`."""
    return value.strip().lower() in PLACEHOLDER_IDS


def is_number(value: Any) -> bool:
    """JSON number test that refuses booleans (a `bool` is an `int` in Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def time_in_seconds(value: int | float) -> float:
    """Epoch seconds for a Mixpanel `time`, telling ms from seconds by magnitude."""
    return value / 1000 if value >= MS_THRESHOLD else float(value)


def time_in_ms(value: int | float) -> int:
    """Epoch milliseconds: the unit used in dedup keys, so 1.7e9 s and 1.7e12 ms collide."""
    return int(round(time_in_seconds(value) * 1000))


def check_time(value: Any, now: float, *, max_age_s: float | None = None) -> Failure | None:
    """Validate `properties.time`: an integral JSON number, after 1971, ≤ 1 h ahead.

    The OpenAPI type is `integer`; as in JSON Schema, `1.7e9` (a float with no fraction) is an
    integer, `1700000000.5` is not.
    """
    if not is_number(value) or (isinstance(value, float) and not value.is_integer()):
        return Failure("properties.time", TIME_MESSAGE)
    seconds = time_in_seconds(value)
    if seconds < MIN_TIME_S:
        return Failure("properties.time", f"{TIME_MESSAGE}; it is before 1971-01-01")
    if seconds > now + MAX_FUTURE_S:
        return Failure("properties.time", f"{TIME_MESSAGE}; it is more than 1 hour in the future")
    if max_age_s is not None and seconds < now - max_age_s:
        return Failure("properties.time", "'properties.time' is older than 5 days; use /import")
    return None


def check_insert_id(value: Any) -> Failure | None:
    """Validate a present `$insert_id` (≤ 36 bytes of `[A-Za-z0-9-]`, not a placeholder)."""
    if not isinstance(value, str):
        return Failure("$insert_id", "'$insert_id' is invalid: must be a string")
    if not _INSERT_ID.fullmatch(value):
        return Failure(
            "$insert_id",
            "'$insert_id' is invalid: must only contain alphanumeric or hyphen '-' characters",
        )
    if len(value) > MAX_INSERT_ID_BYTES:  # ASCII only by now, so characters == bytes
        return Failure("$insert_id", "'$insert_id' is invalid: must be at most 36 bytes")
    if is_placeholder(value):
        return Failure("$insert_id", f"'$insert_id' is invalid: {value!r} is a reserved value")
    return None


def check_distinct_id(value: Any) -> Failure | None:
    """Validate a present `distinct_id`: a string (`""` allowed), not a placeholder."""
    field = "properties.distinct_id"
    if not isinstance(value, str):
        return Failure(field, f"'{field}' is invalid: must be a string")
    if value and is_placeholder(value):
        return Failure(field, f"'{field}' is invalid: {value!r} is a reserved value")
    return None


def has_invalid_utf8(value: Any) -> bool:
    """True when `value` holds a string (or key) that cannot be encoded as UTF-8.

    Lone surrogates come from JSON escapes like `\\ud800`; invalid raw bytes arrive as
    surrogate escapes because the server decodes bodies with `errors="surrogateescape"`.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_invalid_utf8(k) or has_invalid_utf8(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_invalid_utf8(v) for v in value)
    return False


def printable(text: str) -> str:
    """`text` made safe to put in a JSON response (invalid UTF-8 shown as escapes)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def serialized_size(value: Any) -> int:
    """Bytes of `value` as compact JSON, the size Mixpanel's limits are written against."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


def _nesting(value: Any) -> int:
    """Levels of objects in `value`: a flat object is 1, a scalar 0."""
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_nesting(v) for v in value), default=0)
    return 0


def _too_many_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return len(value) >= MAX_KEYS or any(_too_many_keys(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_many_keys(v) for v in value)
    return False


def check_properties(
    record: dict[str, Any], properties: dict[str, Any], *, measure: bool = True
) -> Failure | None:
    """The per-record limits of §3.3: UTF-8, key counts, nesting, list/object and record size.

    With `measure`, the record is serialized once for its size and UTF-8 validity; callers
    pass False when the whole body is already known to be clean UTF-8 and under 1 MB (this
    runs on every record of a benchmark). The walk that names the offending property only
    happens when that encoding fails.
    """
    size = 0
    try:
        if measure:
            size = len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())
    except UnicodeEncodeError:
        for key, value in properties.items():
            if has_invalid_utf8(key) or has_invalid_utf8(value):
                field = f"properties.{printable(key)}"
                return Failure(field, f"{field} is invalid: string should be valid utf8")
        return Failure("record", "record is invalid: string should be valid utf8")
    if len(properties) >= MAX_KEYS:
        return Failure("properties", "'properties' is invalid: must have fewer than 255 keys")
    for key, value in properties.items():
        if not isinstance(value, dict | list):
            continue
        field = f"properties.{key}"
        if isinstance(value, list) and len(value) >= MAX_LIST_ITEMS:
            return Failure(field, f"{field} is invalid: lists must have fewer than 255 items")
        if _too_many_keys(value):
            return Failure(field, f"{field} is invalid: objects must have fewer than 255 keys")
        if _nesting(value) > MAX_NESTING:
            return Failure(field, f"{field} is invalid: objects may nest at most 3 levels")
        if serialized_size(value) > MAX_COLLECTION_BYTES:
            return Failure(field, f"{field} is invalid: list/object exceeds 8 KB")
    if size >= MAX_RECORD_BYTES:
        return Failure("record", "record is invalid: must be smaller than 1 MB")
    return None


def _check_event_name(record: dict[str, Any]) -> Failure | None:
    event = record.get("event")
    if not isinstance(event, str) or not event.strip():
        return Failure("event", "'event' must not be missing or blank")
    if has_invalid_utf8(event):
        return Failure("event", "event is invalid: string should be valid utf8")
    return None


def check_import_record(
    record: Any, now: float, *, require_insert_id: bool = True, measure: bool = True
) -> Failure | None:
    """First reason an `/import` record is rejected, or None when it is ingested.

    `require_insert_id` is False under `strict=0`, where Mixpanel generates a (never
    deduplicated) id instead of rejecting the record (§8). `measure`: see `check_properties`.
    """
    if not isinstance(record, dict):
        return Failure("record", "each record must be a JSON object")
    for key in record:
        if key not in ("event", "properties"):
            # Only `event` and `properties` exist (§3.1); anything else is a segmix bug.
            return Failure(printable(key), f"'{printable(key)}' is not a valid record field")
    if failure := _check_event_name(record):
        return failure
    properties = record.get("properties", {})
    if not isinstance(properties, dict):
        return Failure("properties", "'properties' must be an object")
    if "time" not in properties:
        return Failure("properties.time", TIME_MESSAGE)
    if failure := check_time(properties["time"], now):
        return failure
    if "distinct_id" not in properties:
        # CONFLICT in §3.2; the OpenAPI file (and this fake) make it required.
        return Failure("properties.distinct_id", "'properties.distinct_id' must be specified")
    if failure := check_distinct_id(properties["distinct_id"]):
        return failure
    if "$insert_id" in properties:
        if failure := check_insert_id(properties["$insert_id"]):
            return failure
    elif require_insert_id:
        return Failure("$insert_id", "'$insert_id' must be specified")
    return check_properties(record, properties, measure=measure)


def check_track_event(record: Any, now: float) -> Failure | None:
    """First reason a `/track` event is rejected (the token is checked by the caller).

    `time`, `distinct_id` and `$insert_id` are optional on `/track`; when present they obey
    the `/import` rules, and `time` must also be within the last 5 days (§4).
    """
    if not isinstance(record, dict):
        return Failure("record", "each event must be a JSON object")
    if failure := _check_event_name(record):
        return failure
    properties = record.get("properties")
    if not isinstance(properties, dict):
        return Failure("properties", "'properties' must be an object holding 'token'")
    if "time" in properties:
        if failure := check_time(properties["time"], now, max_age_s=TRACK_MAX_AGE_S):
            return failure
    if "distinct_id" in properties:
        if failure := check_distinct_id(properties["distinct_id"]):
            return failure
    if "$insert_id" in properties:
        if failure := check_insert_id(properties["$insert_id"]):
            return failure
    if failure := _check_identity_event(record["event"], properties):
        return failure
    return check_properties(record, properties)


def _check_identity_event(event: str, properties: dict[str, Any]) -> Failure | None:
    """Original ID Merge identity events need their id properties (§9)."""
    if event == "$merge":
        return Failure("event", "$merge is only accepted on /import")
    required = {
        "$identify": ("$identified_id", "$anon_id"),
        "$create_alias": ("distinct_id", "alias"),
    }.get(event, ())
    for name in required:
        value = properties.get(name)
        if not isinstance(value, str) or not value or is_placeholder(value):
            return Failure(f"properties.{name}", f"{event} requires a valid '{name}'")
    if event == "$create_alias" and properties["alias"] == properties["distinct_id"]:
        return Failure("properties.alias", "$create_alias: 'alias' must differ from distinct_id")
    return None
