"""Pre-flight checks (spec §18): what Mixpanel would reject, alter or drop, found before sending.

Pure, and never raises: a record too odd to inspect yields the findings that could be decided and
nothing else. Findings never change what is sent; the one consequence is ``isolate_rejects``,
which gives certain-reject profile/group/track records a request of their own (§14.3).

>>> s = MixpanelSettings(project_token="tok")
>>> [f.code for f in check([Record("engage", {"$token": "tok", "$distinct_id": None, "$ip": "1.2.3.4",
...     "$set": {}}, "profile")], s, now_ms=0)]
['P26']
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Literal

import orjson

from mappings.engine.jsvalues import surrogate_paths

from .identity import is_placeholder, is_valid_insert_id
from .types import Finding, MixpanelSettings, Record
from .wire import RECORD_MAX_BYTES, PreparedRequest, serialize_record

logger = logging.getLogger(__name__)
Severity = Literal["error", "warn", "info"]

_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.I)
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")

MIN_TIME_SECONDS = 31_536_000  # 1971-01-01
MS_THRESHOLD = 1e11  # values at or above are read as milliseconds (our reading, UNCONFIRMED)
HOUR_MS = 3_600_000
MAX_KEYS = 254  # "fewer than 255" properties / nested keys / array elements
MAX_DEPTH = 3
MAX_STRING = 255
EVENT_COLLECTION_BYTES = 8 * 1024
PROFILE_COLLECTION_BYTES = 256 * 1024
REQUEST_MAX_RECORDS = 2000
REQUEST_MAX_BYTES = 10_000_000

# Removed from event_properties before the spread and ignored (§7.2); `id` has its own check.
RESERVED_IGNORED = ("time", "distinct_id", "$insert_id", "$user_id", "$anon_id", "$group_id")
# Computed by trackEvent (§7.2); an event_properties key of the same name overrides it (P21).
COMPUTED_KEYS = frozenset(
    "ip $app_build_number $app_version_string $app_namespace $app_name $browser $browser_version "
    "$bluetooth_enabled $cellular_enabled $carrier $current_url $device $device_name $device_id "
    "$device_type $identified_id $ios_ifa $lib_version $locale $manufacturer $model $os "
    "$os_version $referrer $screen_height $screen_width $screen_density $source $wifi_enabled "
    "mp_country_code mp_lib segment_source_name utm_campaign utm_content utm_medium utm_source "
    "utm_term advertising_id ad_tracking_enabled timezone app_platform event_original_name "
    "$mobile $platform $bitness $platformVersion $uaFullVersion $wow64 token".split()
)
EVENT_ACTIONS = ("trackEvent", "trackPurchase")

# The §18 table: severity and message per check. Messages name the property and its value.
CHECKS: dict[str, tuple[Severity, str]] = {
    "P1": ("error", "event is {value!r}: Mixpanel rejects a missing or blank event name."),
    "P2": ("error", "time is {value!r}: Mixpanel needs seconds or milliseconds since epoch."),
    "P3": ("error", "time {value!r} is before 1971-01-01: Mixpanel rejects it."),
    "P4": ("error", "time {value!r} is more than 1 hour in the future: Mixpanel rejects it."),
    "P5": ("warn", "time {value!r} is in the future: Mixpanel replaces it with the ingest time."),
    "P6": ("info", "time {value!r} looks like {unit}, but this mapping usually sends {usual}."),
    "P7": ("error", "distinct_id {value!r} is a placeholder value Mixpanel rejects."),
    "P8": ("warn", 'distinct_id is "": accepted, but left out of user analysis.'),
    "P9": ("error", "$insert_id {value!r} is invalid (1–36 of A-Z a-z 0-9 -, not a placeholder)."),
    "P10": ("error", "properties has {value} keys: Mixpanel accepts fewer than 255."),
    "P11": ("error", "The record is {value} bytes of JSON: Mixpanel rejects records over 1 MB."),
    "P12": ("error", "{path} {value}: Mixpanel accepts under 255 keys and 3 levels of nesting."),
    "P13": (
        "error",
        "{path} {value}: Mixpanel rejects arrays of 255+ items and big lists/objects.",
    ),
    "P14": (
        "error",
        "{path} = {value!r} is not valid UTF-8 (lone surrogate): Mixpanel rejects it.",
    ),
    "P15": ("warn", "{path} = {value!r}… is {n} characters: Mixpanel truncates it to 255."),
    "P16": ("warn", "Property name {value!r}… is {n} characters: Mixpanel truncates it to 255."),
    "P17": ("error", "Property {path} = {value!r} hides the event in Mixpanel."),
    "P18": ("warn", "Property $ignore = {value!r} makes Mixpanel drop the event silently."),
    "P19": ("warn", "properties.id ({value!r}) is reserved: segmix drops it; id = distinct_id."),
    "P20": ("warn", "{path} ({value!r}) is a reserved key: segmix drops it, Mixpanel ignores it."),
    "P21": ("info", "{path} ({value!r}) overrides the value segmix computes for it."),
    "P22": (
        "warn",
        'No {path}: Mixpanel geolocates from segmix\'s server IP ("Boardman, Oregon").',
    ),
    "P23": ("info", "mp_country_code {value!r} is not the 2-letter code Mixpanel expects."),
    "P24": (
        "warn",
        "{path} {value!r}: Original ID Merge needs $identified_id and a UUIDv4 $anon_id.",
    ),
    "P25": ("warn", "An alias mapping is enabled, but ID Merge Mode is simplified: it is skipped."),
    "P26": ("error", "{path} is {value!r}: Mixpanel rejects the update."),
    "P27": ("warn", "$add is empty: every increment value was skipped as non-numeric."),
    "P28": ("error", "The update is {value} bytes of JSON: Mixpanel rejects updates over 1 MB."),
    "P29": ("info", "Group key $group_id: the project needs a group key named exactly $group_id."),
    "P30": ("info", 'The event is named "Viewed ": the page or screen has no name.'),
    "P31": ("warn", 'Strict Mode is "0": Mixpanel drops invalid events silently, no errors.'),
    "P32": ("warn", "The API secret authenticates /import: Mixpanel retires it on 2027-03-03."),
    "P33": (
        "error",
        "The request to /{path} has {value}: Mixpanel's limit is 2000 records, 10 MB.",
    ),
}


def check(
    records: Sequence[Record],
    settings: MixpanelSettings,
    *,
    now_ms: int,
    event: dict[str, Any] | None = None,
    mapping_action: str | None = None,
    alias_enabled: bool = False,
    fields: dict[str, Any] | None = None,
) -> list[Finding]:
    """Every §18 check decidable from the records, settings and (optionally) the source event.

    ``fields`` is the action's validated payload (``ActionResult.fields``); its
    ``event_properties`` drive P19–P21, with ``event["properties"]`` as the fallback for event
    actions. ``alias_enabled`` says the destination has an enabled alias mapping (P25). P6 needs
    history: see ``check_time_unit``; P33 is about a request: see ``check_request``.
    """
    findings: list[Finding] = []
    for index, record in enumerate(records):
        findings.extend(_guarded(_record_findings, index, record, now_ms, event))
    findings.extend(_guarded(_mapping_findings, records, event, mapping_action, fields))
    if settings.id_merge_mode == "simplified" and (mapping_action == "alias" or alias_enabled):
        findings.append(_f("P25"))
    if any(r.endpoint == "import" for r in records):
        if settings.strict_mode == "0":
            findings.append(_f("P31"))
        if settings.import_auth_mode == "api_secret":
            findings.append(_f("P32"))
    return findings


def check_request(request: PreparedRequest) -> list[Finding]:
    """P33: a request over 2000 records or 10 MB uncompressed (a guard: the splitter prevents it)."""
    findings = []
    if request.record_count > REQUEST_MAX_RECORDS:
        findings.append(_f("P33", path=request.endpoint, value=f"{request.record_count} records"))
    if request.uncompressed_bytes > REQUEST_MAX_BYTES:
        findings.append(
            _f("P33", path=request.endpoint, value=f"{request.uncompressed_bytes} bytes")
        )
    return findings


def time_unit(value: Any) -> Literal["s", "ms"] | None:
    """How a record ``time`` reads: seconds, milliseconds, or ``None`` when not a number."""
    if not _is_number(value):
        return None
    return "ms" if value >= MS_THRESHOLD else "s"


def check_time_unit(
    records: Sequence[Record], observed_unit: Literal["s", "ms"] | None
) -> list[Finding]:
    """P6: a record whose ``time`` unit differs from the one this mapping usually sends.

    ``observed_unit`` comes from the mapping's delivery history; without one, nothing is said.
    """
    names = {"s": "seconds", "ms": "milliseconds"}
    if observed_unit not in names:
        return []
    findings = []
    for index, record in enumerate(records):
        value = _props(record.body).get("time")
        unit = time_unit(value)
        if unit and unit != observed_unit:
            usual = names[observed_unit]
            findings.append(
                _f("P6", index, "properties.time", value, unit=names[unit], usual=usual)
            )
    return findings


def isolate_rejects(records: Sequence[Record], findings: Sequence[Finding]) -> list[Record]:
    """Mark ``/engage``, ``/groups`` and ``/track`` records with an ``error`` finding as
    ``isolate=True`` so their rejection cannot fail their neighbours (§14.3). ``/import`` needs
    no isolation: strict mode reports per record."""
    doomed = {f.record_index for f in findings if f.severity == "error"}
    return [
        replace(r, isolate=True) if i in doomed and r.endpoint != "import" else r
        for i, r in enumerate(records)
    ]


# --- per record ------------------------------------------------------------------------------


def _f(
    code: str, index: int | None = None, path: str | None = None, value: Any = None, **extra: Any
) -> Finding:
    severity, template = CHECKS[code]
    message = template.format(path=path, value=value, **extra)
    return Finding(code, severity, message, index, path)


def _guarded(fn: Any, *args: Any) -> list[Finding]:
    try:
        return list(fn(*args))
    except Exception:  # pre-flight must never break a preview or a delivery
        logger.exception("pre-flight check %s failed", fn.__name__)
        return []


def _record_findings(
    i: int, record: Record, now_ms: int, event: dict[str, Any] | None
) -> Iterator[Finding]:
    body = record.body if isinstance(record.body, dict) else {}
    # One orjson pass gives the record's size (P11/P28) and proves there is no lone surrogate
    # anywhere (orjson refuses them). Only a body it refuses is walked for P14.
    try:
        encoded: bytes | None = orjson.dumps(body)
    except TypeError:
        encoded = None
    if encoded is None:
        # P14: keys or values that are not valid UTF-8 (lone surrogates).
        for path, text in surrogate_paths(body):
            yield _f("P14", i, path or None, text[:40])
        size = _size(body)
    else:
        size = len(encoded)
    if record.endpoint in ("engage", "groups"):
        yield from _profile_findings(i, record, body, size, encoded is not None)
    else:
        yield from _event_findings(i, record, body, now_ms, event, size, encoded is not None)


def _event_findings(
    i: int,
    record: Record,
    body: dict[str, Any],
    now_ms: int,
    event: dict[str, Any] | None,
    size: int | None,
    orjson_size: bool,
) -> Iterator[Finding]:
    name = body.get("event")
    props = _props(body)
    imported = record.endpoint == "import"
    if not isinstance(name, str) or not name.strip():
        yield _f("P1", i, "event", name)
    yield from _time_findings(i, props, now_ms, required=imported)
    distinct = props.get("distinct_id")
    if is_placeholder(distinct):
        yield _f("P7", i, "properties.distinct_id", distinct)
    elif distinct == "":
        yield _f("P8", i, "properties.distinct_id", distinct)
    if imported and not is_valid_insert_id(props.get("$insert_id")):
        yield _f("P9", i, "properties.$insert_id", props.get("$insert_id"))
    if len(props) > MAX_KEYS:
        yield _f("P10", i, "properties", len(props))
    if size is not None and size > RECORD_MAX_BYTES:
        yield _f("P11", i, None, size)
    size_bound = size if orjson_size else None
    yield from _value_findings(i, props, "properties", EVENT_COLLECTION_BYTES, size_bound)
    for key in ("bucket", "$bucket"):
        if key in props:
            yield _f("P17", i, f"properties.{key}", props[key])
    if "$ignore" in props:
        yield _f("P18", i, "properties.$ignore", props["$ignore"])
    if imported and "ip" not in props:
        yield _f("P22", i, "properties.ip")
    country = props.get("mp_country_code")
    if "mp_country_code" in props and not (
        isinstance(country, str) and _COUNTRY_CODE.fullmatch(country)
    ):
        yield _f("P23", i, "properties.mp_country_code", country)
    if record.endpoint == "track" and name == "$identify":
        if not props.get("$identified_id"):
            yield _f("P24", i, "properties.$identified_id", props.get("$identified_id"))
        anon = props.get("$anon_id")
        if not (isinstance(anon, str) and _UUID4.fullmatch(anon)):
            yield _f("P24", i, "properties.$anon_id", anon)
    if name == "Viewed " and (event is None or event.get("type") in ("page", "screen")):
        yield _f("P30", i, "event", name)


def _time_findings(
    i: int, props: dict[str, Any], now_ms: int, *, required: bool
) -> Iterator[Finding]:
    if "time" not in props and not required:
        return  # /track identity events may omit time
    value = props.get("time")
    if not _is_number(value):
        yield _f("P2", i, "properties.time", value)
        return
    ms = value if value >= MS_THRESHOLD else value * 1000
    if ms < MIN_TIME_SECONDS * 1000:
        yield _f("P3", i, "properties.time", value)
    elif ms > now_ms + HOUR_MS:
        yield _f("P4", i, "properties.time", value)
    elif ms > now_ms:
        yield _f("P5", i, "properties.time", value)


def _profile_findings(
    i: int, record: Record, body: dict[str, Any], size: int | None, orjson_size: bool
) -> Iterator[Finding]:
    if record.endpoint == "engage":
        distinct = body.get("$distinct_id")
        if distinct is None or is_placeholder(distinct):
            yield _f("P26", i, "$distinct_id", distinct)
        if body.get("$add") == {}:
            yield _f("P27", i, "$add", {})
        if "$ip" not in body:
            yield _f("P22", i, "$ip")
    else:
        for key in ("$group_key", "$group_id"):
            if body.get(key) in (None, ""):
                yield _f("P26", i, key, body.get(key))
        if body.get("$group_key") == "$group_id":
            yield _f("P29", i, "$group_key", "$group_id")
    if size is not None and size > RECORD_MAX_BYTES:
        yield _f("P28", i, None, size)
    size_bound = size if orjson_size else None
    for op, value in body.items():
        if isinstance(op, str) and op.startswith("$") and isinstance(value, dict):
            yield from _value_findings(i, value, op, PROFILE_COLLECTION_BYTES, size_bound)


def _value_findings(
    i: int,
    props: dict[str, Any],
    prefix: str,
    max_collection: int,
    size_bound: int | None = None,
) -> Iterator[Finding]:
    """P12, P13, P15, P16 over one object of properties (values recursively).

    ``size_bound`` is the orjson size of the whole record, when known: no value inside it is
    bigger. Under ``max_collection`` no P13 size finding is possible, so values well within the
    other limits are skipped after one cheap walk; the others get the exact checks below.
    """
    quick = size_bound is not None and size_bound <= max_collection
    for key, value in props.items():
        if quick and type(key) is str and len(key) <= MAX_STRING and _quiet(value, 0):
            continue
        path = f"{prefix}.{key}"
        if isinstance(value, dict | list):
            size = _size(value)
            if size is not None and size > max_collection:
                yield _f("P13", i, path, f"is {size} bytes (limit {max_collection // 1024} KB)")
            depth = _depth(value)
            if depth > MAX_DEPTH:
                yield _f("P12", i, path, f"nests objects {depth} levels deep")
        yield from _nested(i, key, value, path)


def _quiet(value: Any, dicts: int) -> bool:
    """Whether nothing in ``value`` can give P12 (depth, keys), P13 (elements), P15 or P16.

    ``dicts`` counts the enclosing objects. Only exact JSON types are judged; anything else is
    "not quiet" and gets the full checks.
    """
    t = type(value)
    if t is str:
        return len(value) <= MAX_STRING
    if t is dict:
        if dicts >= MAX_DEPTH or len(value) > MAX_KEYS:
            return False
        for k, v in value.items():
            if type(k) is not str or len(k) > MAX_STRING or not _quiet(v, dicts + 1):
                return False
        return True
    if t is list:
        if len(value) > MAX_KEYS:
            return False
        for v in value:
            if not _quiet(v, dicts):
                return False
        return True
    return t is int or t is float or t is bool or value is None


def _nested(i: int, key: Any, value: Any, path: str) -> Iterator[Finding]:
    if isinstance(key, str) and len(key) > MAX_STRING:
        yield _f("P16", i, path, key[:40], n=len(key))
    if isinstance(value, str) and len(value) > MAX_STRING:
        yield _f("P15", i, path, value[:40], n=len(value))
    elif isinstance(value, dict):
        if len(value) > MAX_KEYS:
            yield _f("P12", i, path, f"has {len(value)} keys")
        for k, v in value.items():
            yield from _nested(i, k, v, f"{path}.{k}")
    elif isinstance(value, list):
        if len(value) > MAX_KEYS:
            yield _f("P13", i, path, f"has {len(value)} elements")
        for n, v in enumerate(value):
            yield from _nested(i, None, v, f"{path}[{n}]")


# --- per mapping -------------------------------------------------------------------------------


def _mapping_findings(
    records: Sequence[Record],
    event: dict[str, Any] | None,
    mapping_action: str | None,
    fields: dict[str, Any] | None,
) -> Iterator[Finding]:
    """P19–P21: what ``event_properties`` carries that segmix drops or that overrides a key."""
    event_records = [i for i, r in enumerate(records) if r.kind in ("event", "order")]
    if fields is not None and "event_properties" in fields:
        source = fields.get("event_properties")
    elif event is not None and (
        mapping_action in EVENT_ACTIONS or (mapping_action is None and event_records)
    ):
        source = event.get("properties")
    else:
        return
    if not isinstance(source, dict):
        return
    at = event_records[0] if event_records else None
    if "id" in source:
        yield _f("P19", at, "properties.id", source["id"])
    for key in source:
        if key in RESERVED_IGNORED:
            yield _f("P20", at, f"properties.{key}", source[key])
        elif key in COMPUTED_KEYS:
            yield _f("P21", at, f"properties.{key}", source[key])


def _props(body: Any) -> dict[str, Any]:
    props = body.get("properties") if isinstance(body, dict) else None
    return props if isinstance(props, dict) else {}


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_depth(v) for v in value), default=0)
    return 0


def _size(value: Any) -> int | None:
    try:
        return len(serialize_record(value))
    except (TypeError, ValueError, RecursionError):
        return None
