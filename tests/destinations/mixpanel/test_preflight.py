"""Pre-flight checks (spec §18): each fires on a minimal bad record and stays quiet on a clean one."""

from __future__ import annotations

import copy
import doctest

import pytest

from mappings.destinations.mixpanel import preflight, wire
from mappings.destinations.mixpanel.types import MixpanelSettings, Record

NOW_MS = 1_748_770_200_000  # 2025-06-01T09:30:00Z
SETTINGS = MixpanelSettings(
    project_token="tok",
    service_account_username="bot",
    service_account_secret="pw",
    project_id="1",
)
ANON = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09"


def clean_event() -> dict:
    return {
        "event": "Report Exported",
        "properties": {
            "time": NOW_MS - 60_000,
            "ip": "203.0.113.45",
            "distinct_id": "acct-3391",
            "$insert_id": "b17abe49-4ea7-51c8-a105-3fdbbca3ec91",
            "mp_country_code": "DE",
            "format": "csv",
            "tags": ["a", "b"],
            "nested": {"a": {"b": {"c": 1}}},
        },
    }


def clean_profile() -> dict:
    return {
        "$token": "tok",
        "$distinct_id": "mara-5512",
        "$ip": "192.0.2.77",
        "$set": {"plan": "team"},
    }


def clean_group() -> dict:
    return {
        "$token": "tok",
        "$group_key": "workspace_id",
        "$group_id": "ws-12",
        "$set": {"seats": 40},
    }


def clean_identify() -> dict:
    return {
        "event": "$identify",
        "properties": {"$identified_id": "mara", "$anon_id": ANON, "token": "tok"},
    }


def codes(records, settings=SETTINGS, **kw) -> list[str]:
    kw.setdefault("now_ms", NOW_MS)
    return [f.code for f in preflight.check(records, settings, **kw)]


def test_clean_records_have_no_findings():
    records = [
        Record("import", clean_event(), "event"),
        Record("engage", clean_profile(), "profile"),
        Record("groups", clean_group(), "group"),
        Record("track", clean_identify(), "$identify"),
    ]
    assert preflight.check(records, SETTINGS, now_ms=NOW_MS, mapping_action="trackEvent") == []


def event_with(path: str, value, *, delete: bool = False) -> dict:
    body = clean_event()
    target, key = (body, path) if "." not in path else (body["properties"], path.split(".", 1)[1])
    if delete:
        del target[key]
    else:
        target[key] = value
    return body


BIG = "x" * 300


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("P1", event_with("event", None, delete=True)),
        ("P1", event_with("event", "   ")),
        ("P1", event_with("event", 42)),
        ("P2", event_with("properties.time", None, delete=True)),
        ("P2", event_with("properties.time", "1745340310")),
        ("P2", event_with("properties.time", True)),
        ("P3", event_with("properties.time", 31_535_999)),
        ("P3", event_with("properties.time", -1_000_000_000_000)),
        ("P4", event_with("properties.time", NOW_MS + 3_600_001)),
        ("P4", event_with("properties.time", NOW_MS // 1000 + 7200)),
        ("P5", event_with("properties.time", NOW_MS + 60_000)),
        ("P7", event_with("properties.distinct_id", " Undefined ")),
        ("P7", event_with("properties.distinct_id", "00000000-0000-0000-0000-000000000000")),
        ("P8", event_with("properties.distinct_id", "")),
        ("P9", event_with("properties.$insert_id", "ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0")),
        ("P9", event_with("properties.$insert_id", "a:b")),
        ("P9", event_with("properties.$insert_id", "null")),
        ("P9", event_with("properties.$insert_id", None, delete=True)),
        (
            "P10",
            event_with("properties.extra", None) | {"properties": {f"k{i}": i for i in range(255)}},
        ),
        ("P11", event_with("properties.blob", "y" * 1_000_001)),
        ("P12", event_with("properties.deep", {"a": {"b": {"c": {"d": 1}}}})),
        ("P12", event_with("properties.wide", {"o": {f"k{i}": i for i in range(255)}})),
        ("P13", event_with("properties.list", list(range(255)))),
        ("P13", event_with("properties.blob", {"s": "z" * 8200})),
        ("P14", event_with("properties.utm_source", "bad\ud800")),
        ("P14", event_with("properties.bad\udc00key", 1)),
        ("P15", event_with("properties.long", BIG)),
        ("P16", event_with(f"properties.{BIG}", 1)),
        ("P17", event_with("properties.bucket", "a")),
        ("P17", event_with("properties.$bucket", "a")),
        ("P18", event_with("properties.$ignore", True)),
        ("P22", event_with("properties.ip", None, delete=True)),
        ("P23", event_with("properties.mp_country_code", "Germany")),
        ("P30", event_with("event", "Viewed ")),
    ],
)
def test_event_checks_fire(code, body):
    found = codes([Record("import", body, "event")])
    assert code in found


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("P24", {"event": "$identify", "properties": {"$anon_id": ANON, "token": "tok"}}),
        (
            "P24",
            {"event": "$identify", "properties": {"$identified_id": "m", "$anon_id": "anon-1"}},
        ),
        ("P7", {"event": "$create_alias", "properties": {"distinct_id": "null", "alias": "a"}}),
    ],
)
def test_track_identity_checks_fire(code, body):
    assert code in codes([Record("track", body, "$identify")])


def test_track_records_need_no_time_or_insert_id_or_ip():
    assert codes([Record("track", clean_identify(), "$identify")]) == []
    bad_time = {"event": "$identify", "properties": {**clean_identify()["properties"], "time": "x"}}
    assert codes([Record("track", bad_time, "$identify")]) == ["P2"]


@pytest.mark.parametrize(
    ("code", "endpoint", "body"),
    [
        ("P26", "engage", clean_profile() | {"$distinct_id": None}),
        ("P26", "engage", {k: v for k, v in clean_profile().items() if k != "$distinct_id"}),
        ("P26", "engage", clean_profile() | {"$distinct_id": "anonymous"}),
        ("P26", "groups", {k: v for k, v in clean_group().items() if k != "$group_id"}),
        ("P26", "groups", clean_group() | {"$group_key": None}),
        ("P27", "engage", {"$token": "t", "$distinct_id": "u", "$ip": "1.1.1.1", "$add": {}}),
        ("P28", "engage", clean_profile() | {"$set": {f"k{i}": "v" * 250 for i in range(4100)}}),
        ("P28", "groups", clean_group() | {"$set": {f"k{i}": "v" * 250 for i in range(4100)}}),
        ("P22", "engage", {k: v for k, v in clean_profile().items() if k != "$ip"}),
        ("P29", "groups", clean_group() | {"$group_key": "$group_id"}),
        ("P15", "engage", clean_profile() | {"$set": {"bio": BIG}}),
        ("P13", "engage", clean_profile() | {"$set": {"list": list(range(255))}}),
    ],
)
def test_profile_and_group_checks_fire(code, endpoint, body):
    assert code in codes([Record(endpoint, body, "profile")])


def test_profile_lists_may_be_bigger_than_event_lists():
    body = clean_profile() | {"$set": {"blob": ["z" * 200] * 50}}
    assert codes([Record("engage", body, "profile")]) == []
    event = event_with("properties.blob", ["z" * 200] * 50)
    assert codes([Record("import", event, "event")]) == ["P13"]


def test_event_properties_checks_p19_to_p21():
    fields = {"event_properties": {"id": "rep-88", "time": 5, "mp_lib": "mine", "format": "csv"}}
    findings = preflight.check([Record("import", clean_event(), "event")], SETTINGS,
                               now_ms=NOW_MS, fields=fields)  # fmt: skip
    assert [(f.code, f.property) for f in findings] == [
        ("P19", "properties.id"),
        ("P20", "properties.time"),
        ("P21", "properties.mp_lib"),
    ]
    assert "rep-88" in findings[0].message


def test_p19_falls_back_to_the_event_properties_for_event_actions():
    event = {"type": "track", "properties": {"id": "rep-88"}}
    records = [Record("import", clean_event(), "event")]
    assert "P19" in codes(records, event=event, mapping_action="trackEvent")
    assert "P19" not in codes(records, event=event, mapping_action="identifyUser")


def test_p30_only_for_page_and_screen_when_the_event_is_known():
    records = [Record("import", event_with("event", "Viewed "), "event")]
    assert "P30" in codes(records, event={"type": "page"})
    assert "P30" not in codes(records, event={"type": "track"})


def test_settings_level_checks():
    records = [Record("import", clean_event(), "event")]
    simplified_alias = codes([], mapping_action="alias")
    assert simplified_alias == ["P25"]
    assert codes([], alias_enabled=True) == ["P25"]
    original = MixpanelSettings(project_token="tok", api_secret="s", id_merge_mode="original")
    assert codes([], original, mapping_action="alias") == []
    assert codes(records, original) == ["P32"]
    lenient = MixpanelSettings(project_token="tok", strict_mode="0")
    assert codes(records, lenient) == ["P31"]
    # Only when something goes to /import.
    assert codes([Record("engage", clean_profile(), "profile")], lenient) == []


def test_p6_compares_with_the_mappings_usual_unit():
    seconds = event_with("properties.time", NOW_MS // 1000 - 60)
    records = [Record("import", clean_event(), "event"), Record("import", seconds, "event")]
    assert preflight.check_time_unit(records, None) == []
    [finding] = preflight.check_time_unit(records, "ms")
    assert (finding.code, finding.record_index, finding.severity) == ("P6", 1, "info")
    assert [f.record_index for f in preflight.check_time_unit(records, "s")] == [0]
    assert preflight.time_unit(True) is None


def test_p33_guards_requests():
    records = [Record("import", {"event": "e", "properties": {}}, "event")] * 2001
    request = wire.PreparedRequest("POST", "u", "import", {}, b"", "json", tuple(records),
                                   uncompressed_bytes=10_000_001)  # fmt: skip
    assert [f.code for f in preflight.check_request(request)] == ["P33", "P33"]
    [ok] = wire.build_requests(records[:5], SETTINGS, api_url_override=None, user_agent="ua")
    assert preflight.check_request(ok) == []


def test_findings_name_record_property_and_value():
    body = event_with("properties.distinct_id", "n/a")
    [finding] = preflight.check([Record("import", body, "event")], SETTINGS, now_ms=NOW_MS)
    assert finding.record_index == 0
    assert finding.property == "properties.distinct_id"
    assert finding.severity == "error"
    assert "'n/a'" in finding.message


@pytest.mark.parametrize(
    "body",
    [
        None,
        "string body",
        [],
        {"event": "e", "properties": "not an object"},
        {"event": "e", "properties": {"time": float("nan"), 1: {2: [None, {3: object()}]}}},
        {"$token": "t", "$distinct_id": ["x"], "$set": None},
    ],
)
@pytest.mark.parametrize("endpoint", ["import", "engage", "groups", "track"])
def test_odd_records_never_raise(endpoint, body, caplog):
    findings = preflight.check(
        [Record(endpoint, copy.copy(body), "event")], SETTINGS, now_ms=NOW_MS
    )
    assert isinstance(findings, list)
    assert "pre-flight check" not in caplog.text  # handled, not merely swallowed


def test_isolate_rejects_marks_only_non_import_errors():
    records = [
        Record("engage", clean_profile() | {"$distinct_id": None}, "profile"),
        Record("engage", clean_profile(), "profile"),
        Record("import", event_with("event", ""), "event"),
    ]
    marked = preflight.isolate_rejects(records, preflight.check(records, SETTINGS, now_ms=NOW_MS))
    assert [r.isolate for r in marked] == [True, False, False]


def test_the_module_docstring_example_holds():
    assert doctest.testmod(preflight).failed == 0
