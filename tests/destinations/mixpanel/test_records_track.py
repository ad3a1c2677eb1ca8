"""trackEvent records (spec §7): property order and mappings, D1, D2, notes, presets."""

from __future__ import annotations

import copy

import pytest

from mappings.destinations.mixpanel.actions import default_mapping
from mappings.destinations.mixpanel.perform import perform
from mappings.destinations.mixpanel.presets import get_preset
from mappings.destinations.mixpanel.settings_schema import validate_settings
from mappings.destinations.mixpanel.types import MixpanelSettings, PayloadValidationError, Record
from mappings.engine import mapping_kit

RECEIVED_AT = 1_748_779_200_000
US = MixpanelSettings(project_token="tok")

# §7.6
EXAMPLE_EVENT = {
    "type": "track",
    "event": "Report Exported",
    "userId": "acct-3391",
    "anonymousId": "c0ffee00-1234-4abc-9def-0123456789ab",
    "messageId": "ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0",
    "timestamp": "2025-02-10T14:03:27.512+01:00",
    "properties": {"format": "csv", "rows": 1200, "id": "rep-88"},
    "context": {
        "ip": "203.0.113.45",
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "locale": "de-DE",
        "timezone": "Europe/Berlin",
        "groupId": "ws-12",
        "page": {
            "url": "https://app.example.io/reports/88",
            "referrer": "https://app.example.io/home",
        },
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "campaign": {"source": "mail", "medium": "email", "name": "feb-digest"},
        "screen": {"width": 2560, "height": 1440, "density": 1},
    },
}
EXAMPLE_SETTINGS = {"projectToken": "tok", "apiRegion": "EU 🇪🇺", "sourceName": "Web App"}
EXAMPLE_RECORD = {
    "event": "Report Exported",
    "properties": {
        "time": 1739192607512,
        "ip": "203.0.113.45",
        "id": "acct-3391",
        "$anon_id": "c0ffee00-1234-4abc-9def-0123456789ab",
        "distinct_id": "acct-3391",
        "$browser": "Firefox",
        "$browser_version": "128.0",
        "$current_url": "https://app.example.io/reports/88",
        "$device_id": "c0ffee00-1234-4abc-9def-0123456789ab",
        "$group_id": "ws-12",
        "$identified_id": "acct-3391",
        "$insert_id": "b17abe49-4ea7-51c8-a105-3fdbbca3ec91",
        "$lib_version": "next-1.70.0",
        "$locale": "de-DE",
        "$referrer": "https://app.example.io/home",
        "$screen_height": 1440,
        "$screen_width": 2560,
        "$screen_density": 1,
        "$source": "segment",
        "$user_id": "acct-3391",
        "mp_lib": "Segment: analytics.js",
        "segment_source_name": "Web App",
        "utm_campaign": "feb-digest",
        "utm_medium": "email",
        "utm_source": "mail",
        "timezone": "Europe/Berlin",
        "event_original_name": "Report Exported",
        "format": "csv",
        "rows": 1200,
    },
}
# What the default mapping resolves the §7.6 event to (hand-written, as mapping-kit gives it).
EXAMPLE_RESOLVED = {
    "event": "Report Exported",
    "distinct_id": "acct-3391",
    "anonymous_id": "c0ffee00-1234-4abc-9def-0123456789ab",
    "user_id": "acct-3391",
    "group_id": "ws-12",
    "insert_id": "ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0",
    "time": "2025-02-10T14:03:27.512+01:00",
    "language": "de-DE",
    "library_name": "analytics.js",
    "library_version": "next-1.70.0",
    "ip": "203.0.113.45",
    "url": "https://app.example.io/reports/88",
    "screen_width": 2560,
    "screen_height": 1440,
    "screen_density": 1,
    "referrer": "https://app.example.io/home",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "timezone": "Europe/Berlin",
    "name": "Report Exported",
    "event_properties": {"format": "csv", "rows": 1200, "id": "rep-88"},
    "context": copy.deepcopy(EXAMPLE_EVENT["context"]),
    "utm_properties": {"utm_source": "mail", "utm_medium": "email", "utm_campaign": "feb-digest"},
    "enable_batching": True,
    "batch_size": 1000,
    "userAgentData": {},
}


def track(resolved, settings=US, *, event=None, batching=None, stored_event_id="evt-1"):
    return perform(
        "trackEvent",
        resolved,
        settings,
        event=event or {},
        stored_event_id=stored_event_id,
        received_at_ms=RECEIVED_AT,
        batching=batching,
    )


def props(resolved, settings=US, **kwargs):
    [record] = track(resolved, settings, **kwargs).records
    return record.body["properties"]


def codes(result):
    return [note.code for note in result.notes]


# --- the §7.6 example ------------------------------------------------------------------------


def test_the_spec_example_from_a_resolved_payload():
    result = track(EXAMPLE_RESOLVED, validate_settings(EXAMPLE_SETTINGS))
    assert result.records == [
        Record("import", EXAMPLE_RECORD, "event", insert_id="b17abe49-4ea7-51c8-a105-3fdbbca3ec91")
    ]
    # key order follows §7.2 (only for reading: Mixpanel compares parsed JSON)
    assert list(result.records[0].body["properties"]) == list(EXAMPLE_RECORD["properties"])


def test_the_spec_example_through_the_default_mapping():
    resolved = mapping_kit.transform(default_mapping("trackEvent"), EXAMPLE_EVENT)
    assert resolved == EXAMPLE_RESOLVED
    result = track(resolved, validate_settings(EXAMPLE_SETTINGS), event=EXAMPLE_EVENT)
    assert [r.body for r in result.records] == [EXAMPLE_RECORD]


def test_the_spec_example_notes():
    result = track(EXAMPLE_RESOLVED, validate_settings(EXAMPLE_SETTINGS))
    assert codes(result) == ["insert-id-derived", "mp-lib", "properties-id-dropped"]
    derived, mp_lib, dropped = result.notes
    assert "41 characters" in derived.message and derived.property == "$insert_id"
    assert mp_lib.message.startswith('mp_lib = "Segment: analytics.js"')
    assert '"rep-88"' in dropped.message and dropped.property == "id"
    assert all(note.record_index == 0 for note in result.notes)


def test_the_validated_payload_is_returned():
    result = track(EXAMPLE_RESOLVED)
    assert result.fields == EXAMPLE_RESOLVED
    assert result.skipped is None


# --- ids -------------------------------------------------------------------------------------


def test_an_anonymous_only_event():
    p = props({"event": "e", "distinct_id": "anon-1", "anonymous_id": "anon-1", "insert_id": "m1"})
    assert p["distinct_id"] == p["id"] == p["$anon_id"] == p["$device_id"] == "anon-1"
    assert "$user_id" not in p and "$identified_id" not in p


def test_an_event_without_any_id_has_an_empty_distinct_id_and_no_id():
    p = props({"event": "e"})
    assert p["distinct_id"] == "" and "id" not in p


def test_device_id_comes_from_the_anonymous_id_not_device_id():
    p = props({"event": "e", "anonymous_id": "anon-1", "device_id": "hw-1"})
    assert p["$device_id"] == "anon-1"
    assert "hw-1" not in p.values()


def test_region_and_device_id_are_accepted_but_not_sent():
    p = props({"event": "e", "region": "Berlin", "device_id": "hw-1"})
    assert "Berlin" not in p.values() and "hw-1" not in p.values()


def test_an_empty_user_id_wins_over_the_anonymous_id_in_batch_semantics():
    # §5.1: @if exists is true for "", so distinct_id is "" and batch semantics keep it
    resolved = mapping_kit.transform(
        default_mapping("trackEvent"),
        {"type": "track", "event": "e", "userId": "", "anonymousId": "a"},
    )
    assert resolved["distinct_id"] == ""
    batch = props(resolved, batching=True)
    assert batch["distinct_id"] == "" and batch["id"] == "" and batch["$user_id"] == ""
    single = props(resolved, batching=False)
    assert single["distinct_id"] == "" and "id" not in single and "$user_id" not in single


# --- every mapping of §7.2 -------------------------------------------------------------------


def test_every_field_lands_on_its_property_in_order():
    resolved = {
        "event": "e",
        "time": 1745340310,
        "ip": "1.2.3.4",
        "distinct_id": "u",
        "anonymous_id": "a",
        "app_build": "42",
        "app_version": "1.2",
        "app_namespace": "io.example",
        "app_name": "Example",
        "userAgent": "Mozilla/5.0 Chrome/120.0.1 Safari/537.36",
        "bluetooth": True,
        "cellular": False,
        "carrier": "T",
        "url": "https://x/",
        "device_name": "Pixel",
        "device_type": "android",
        "group_id": "g",
        "user_id": "u",
        "insert_id": "m-1",
        "idfa": "ifa",
        "library_version": "1.0",
        "language": "en",
        "device_manufacturer": "Google",
        "device_model": "P8",
        "os_name": "Android",
        "os_version": "14",
        "referrer": "https://r/",
        "screen_height": 2400,
        "screen_width": 1080,
        "screen_density": 2.5,
        "wifi": True,
        "country": "Germany",
        "library_name": "analytics-kotlin",
        "utm_properties": {
            "utm_source": "s",
            "utm_medium": "m",
            "utm_campaign": "c",
            "utm_term": "t",
            "utm_content": "x",
        },
        "advertising_id": "ad",
        "ad_tracking_enabled": "true",
        "timezone": "Europe/Berlin",
        "app_platform": "android",
        "name": "orig",
        "userAgentData": {
            "mobile": True,
            "platform": "Android",
            "architecture": "arm",
            "bitness": "64",
            "model": "P8",
            "platformVersion": "14.0",
            "uaFullVersion": "120.0.1",
            "wow64": False,
        },
        "event_properties": {"plan": "pro"},
    }
    p = props(resolved, MixpanelSettings(project_token="tok", source_name="App"))
    assert list(p.items()) == [
        ("time", 1745340310),
        ("ip", "1.2.3.4"),
        ("id", "u"),
        ("$anon_id", "a"),
        ("distinct_id", "u"),
        ("$app_build_number", "42"),
        ("$app_version_string", "1.2"),
        ("$app_namespace", "io.example"),
        ("$app_name", "Example"),
        ("$browser", "Chrome"),
        ("$browser_version", "120.0.1"),
        ("$bluetooth_enabled", True),
        ("$cellular_enabled", False),
        ("$carrier", "T"),
        ("$current_url", "https://x/"),
        ("$device", "Pixel"),
        ("$device_id", "a"),
        ("$device_type", "android"),
        ("$device_name", "Pixel"),
        ("$group_id", "g"),
        ("$identified_id", "u"),
        ("$insert_id", "m-1"),
        ("$ios_ifa", "ifa"),
        ("$lib_version", "1.0"),
        ("$locale", "en"),
        ("$manufacturer", "Google"),
        ("$model", "P8"),
        ("$os", "Android"),
        ("$os_version", "14"),
        ("$referrer", "https://r/"),
        ("$screen_height", 2400),
        ("$screen_width", 1080),
        ("$screen_density", 2.5),
        ("$source", "segment"),
        ("$user_id", "u"),
        ("$wifi_enabled", True),
        ("mp_country_code", "Germany"),
        ("mp_lib", "Segment: analytics-kotlin"),
        ("segment_source_name", "App"),
        ("utm_campaign", "c"),
        ("utm_content", "x"),
        ("utm_medium", "m"),
        ("utm_source", "s"),
        ("utm_term", "t"),
        ("advertising_id", "ad"),
        ("ad_tracking_enabled", "true"),
        ("timezone", "Europe/Berlin"),
        ("app_platform", "android"),
        ("event_original_name", "orig"),
        ("$mobile", True),
        ("$platform", "Android"),
        ("$bitness", "64"),
        ("$platformVersion", "14.0"),
        ("$uaFullVersion", "120.0.1"),
        ("$wow64", False),
        ("plan", "pro"),
    ]


def test_iterable_events_get_their_source():
    p = props({"event": "e", "context": {"integration": {"name": "Iterable"}}})
    assert p["$source"] == "Iterable"
    assert (
        props({"event": "e", "context": {"integration": {"name": "iterable"}}})["$source"]
        == "segment"
    )


def test_a_user_agent_without_a_known_browser_still_sends_an_empty_browser():
    p = props({"event": "e", "userAgent": "curl/8.4.0"})
    assert p["$browser"] == "" and "$browser_version" not in p


def test_os_is_never_read_from_the_user_agent():
    assert "$os" not in props(
        {"event": "e", "userAgent": "Mozilla/5.0 (Windows NT 10.0) Chrome/1.0"}
    )


def test_mp_lib_is_segment_colon_library_d1():
    assert (
        props({"event": "e", "library_name": "analytics.js"})["mp_lib"] == "Segment: analytics.js"
    )
    assert "mp_lib" not in props({"event": "e"})


def test_an_empty_library_name_kept_by_batch_semantics_is_sent_as_is():
    # JavaScript's ``library_name && …`` is "" there; Segment sends mp_lib "".
    assert props({"event": "e", "library_name": ""}, batching=True)["mp_lib"] == ""


def test_segment_source_name_only_when_set():
    assert "segment_source_name" not in props({"event": "e"})
    blank = validate_settings({"projectToken": "t", "sourceName": "  "})
    assert "segment_source_name" not in props({"event": "e"}, blank)


def test_an_empty_utm_source_is_sent_m5_root_only_rule():
    assert props({"event": "e", "utm_properties": {"utm_source": ""}})["utm_source"] == ""


# --- event_properties ------------------------------------------------------------------------


def test_reserved_keys_never_reach_mixpanel():
    resolved = {
        "event": "e",
        "distinct_id": "u",
        "insert_id": "m-1",
        "time": 1745340310000,
        "event_properties": {
            "time": 1,
            "id": "mine",
            "$anon_id": "x",
            "distinct_id": "x",
            "$group_id": "x",
            "$insert_id": "x",
            "$user_id": "x",
            "kept": 1,
        },
    }
    result = track(resolved)
    p = result.records[0].body["properties"]
    assert p["time"] == 1745340310000 and p["id"] == "u" and p["distinct_id"] == "u"
    assert p["$insert_id"] == "m-1"
    assert "$anon_id" not in p and "$group_id" not in p and "$user_id" not in p
    assert p["kept"] == 1
    assert (
        codes(result)
        == ["reserved-key-ignored", "properties-id-dropped"] + ["reserved-key-ignored"] * 5
    )
    ignored = [n.property for n in result.notes if n.code == "reserved-key-ignored"]
    assert ignored == ["time", "$anon_id", "distinct_id", "$group_id", "$insert_id", "$user_id"]


def test_other_keys_override_computed_properties_in_place():
    resolved = {
        "event": "e",
        "anonymous_id": "a",
        "library_name": "analytics.js",
        "url": "https://x/",
        "event_properties": {
            "$device_id": "dev",
            "mp_lib": "mine",
            "$current_url": "u",
            "token": "t",
        },
    }
    result = track(resolved)
    p = result.records[0].body["properties"]
    assert (p["$device_id"], p["mp_lib"], p["$current_url"], p["token"]) == (
        "dev",
        "mine",
        "u",
        "t",
    )
    # an overriding key keeps the computed key's position, as JavaScript's spread does
    assert list(p).index("$current_url") < list(p).index("$device_id") < list(p).index("mp_lib")
    overridden = [n.property for n in result.notes if n.code == "computed-key-overridden"]
    assert overridden == ["$device_id", "mp_lib", "$current_url"]


def test_event_properties_are_not_cleaned_or_coerced():
    p = props({"event": "e", "event_properties": {"n": None, "s": "", "x": "12"}})
    assert (p["n"], p["s"], p["x"]) == (None, "", "12")


# --- time (§7.3, D2) -------------------------------------------------------------------------


def test_a_missing_time_is_the_stored_received_at():
    result = track({"event": "e"})
    assert result.records[0].body["properties"]["time"] == RECEIVED_AT
    assert "time-from-received-at" in codes(result)


def test_numbers_are_sent_unchanged():
    assert props({"event": "e", "time": 1745340310})["time"] == 1745340310
    assert props({"event": "e", "time": 1745340310000.7})["time"] == 1745340310000


def test_a_digit_string_is_a_calendar_date():
    assert props({"event": "e", "time": "20250422"})["time"] == 1745280000000


# --- $insert_id (D2) -------------------------------------------------------------------------


def test_a_valid_message_id_is_the_insert_id():
    assert props({"event": "e", "insert_id": "msg-1"})["$insert_id"] == "msg-1"


def test_without_a_message_id_the_insert_id_derives_from_the_stored_event():
    result = track({"event": "e"}, stored_event_id="314")
    assert (
        result.records[0].insert_id == "70f66364-79bd-54a0-9fad-4bc65b936f5f"
    )  # uuid5(NS, "segmix-event:314")
    assert "segmix-event:314" in result.notes[0].message


def test_records_are_identical_on_every_evaluation():
    first = track(EXAMPLE_RESOLVED, stored_event_id="9").records
    second = track(copy.deepcopy(EXAMPLE_RESOLVED), stored_event_id="9").records
    assert first == second


# --- validation (§16) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "message"),
    [
        ({}, "The root value is missing the required field 'event'."),
        (
            {"event": "e", "time": "soon"},
            "Timestamp must be a valid date-like string but it was not.",
        ),
        (
            {"event": "e", "event_properties": "x"},
            "Event Properties must be an object but it was a string.",
        ),
        ({"event": "e", "screen_width": "w"}, "Screen width must be a number but it was a string."),
        ({"event": "e", "user_id": {}}, "User ID must be a string but it was an object."),
    ],
)
def test_validation_errors(resolved, message):
    with pytest.raises(PayloadValidationError) as caught:
        track(resolved)
    assert (caught.value.message, caught.value.status) == (message, 400)


# --- presets through the real mapping --------------------------------------------------------


def test_a_named_page_through_the_page_preset():
    event = {"type": "page", "name": "Team Settings", "anonymousId": "a1", "messageId": "p1"}
    resolved = mapping_kit.transform(get_preset("Page Calls").mapping, event)
    p = props(resolved, event=event)
    assert p["event_original_name"] == "Team Settings"
    assert track(resolved).records[0].body["event"] == "Viewed Team Settings"


def test_an_unnamed_page_keeps_the_trailing_space():
    event = {"type": "page", "anonymousId": "a1", "messageId": "p1"}
    resolved = mapping_kit.transform(get_preset("Page Calls").mapping, event)
    [record] = track(resolved).records
    assert record.body["event"] == "Viewed "
    assert "event_original_name" not in record.body["properties"]


def test_a_screen_through_the_screen_preset():
    event = {"type": "screen", "name": "Checkout", "userId": "u", "messageId": "s1"}
    resolved = mapping_kit.transform(get_preset("Screen Calls").mapping, event)
    [record] = track(resolved).records
    assert record.body["event"] == "Viewed Checkout"
    assert record.body["properties"]["event_original_name"] == "Checkout"


def test_a_page_under_the_plain_defaults_has_no_event_name():
    event = {"type": "page", "name": "X", "anonymousId": "a1"}
    resolved = mapping_kit.transform(default_mapping("trackEvent"), event)
    with pytest.raises(PayloadValidationError) as caught:
        track(resolved)
    assert caught.value.message == "The root value is missing the required field 'event'."
