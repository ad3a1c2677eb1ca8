"""What happens to a resolved mapping before records are built (spec §5.2–§5.4, §7.3, §16).

Expected values here were checked against Segment's real code (actions-core 3.170.0).
"""

from __future__ import annotations

import pytest

from mappings.destinations.mixpanel.actions import get_action
from mappings.destinations.mixpanel.coerce import prepare_payload
from mappings.destinations.mixpanel.dates import is_date_like, parse_date_ms, utc_ms
from mappings.destinations.mixpanel.perform import (
    BATCH_NOT_SUPPORTED,
    perform,
    perform_batch,
    uses_batch_semantics,
)
from mappings.destinations.mixpanel.types import MixpanelSettings, PayloadValidationError

TRACK = get_action("trackEvent")
PURCHASE = get_action("trackPurchase")
IDENTIFY = get_action("identifyUser")
SETTINGS = MixpanelSettings(project_token="tok")


def fields(action, resolved, *, batch=False):
    return prepare_payload(action, resolved, batch=batch).fields


def error(action, resolved, *, batch=False) -> str:
    with pytest.raises(PayloadValidationError) as caught:
        prepare_payload(action, resolved, batch=batch)
    assert caught.value.status == 400
    assert caught.value.code == "PAYLOAD_VALIDATION_FAILED"
    return caught.value.message


# --- §5.2 remove empty values ----------------------------------------------------------------


def test_null_is_removed_unless_the_field_allows_it():
    assert fields(TRACK, {"event": "e", "user_id": None}) == {"event": "e"}
    assert fields(IDENTIFY, {"user_id": None, "anonymous_id": None, "ip": None}) == {
        "user_id": None,
        "anonymous_id": None,
    }


def test_empty_string_is_removed_for_fields_without_a_string_type():
    payload = {"event": "e", "screen_width": "", "wifi": "", "event_properties": ""}
    assert fields(TRACK, payload, batch=True) == {"event": "e"}


def test_single_semantics_remove_root_empty_strings():
    assert fields(TRACK, {"event": "e", "user_id": "", "time": ""}) == {"event": "e"}


def test_batch_semantics_keep_root_empty_strings():
    assert fields(TRACK, {"event": "e", "user_id": ""}, batch=True) == {"event": "e", "user_id": ""}


def test_an_empty_event_name_is_missing_in_single_semantics_only():
    assert error(TRACK, {"event": ""}) == "The root value is missing the required field 'event'."
    assert fields(TRACK, {"event": ""}, batch=True) == {"event": ""}


def test_an_empty_time_fails_validation_in_batch_semantics():
    assert error(TRACK, {"event": "e", "time": ""}, batch=True) == (
        "Timestamp must be a valid date-like string but it was not."
    )


def test_the_root_only_rule_keeps_empty_strings_in_sub_objects():
    payload = {"event": "e", "utm_properties": {"utm_source": "", "utm_term": None}}
    assert fields(TRACK, payload) == {"event": "e", "utm_properties": {"utm_source": ""}}


def test_sub_objects_lose_empty_strings_of_non_string_keys():
    payload = {"event": "e", "userAgentData": {"mobile": "", "platform": "", "wow64": None}}
    assert fields(TRACK, payload) == {"event": "e", "userAgentData": {"platform": ""}}


def test_free_form_objects_are_never_cleaned():
    props = {"a": None, "b": "", "c": {"d": None}}
    assert fields(TRACK, {"event": "e", "event_properties": props}) == {
        "event": "e",
        "event_properties": props,
    }


def test_product_items_are_not_cleaned_but_null_items_are_dropped():
    payload = {
        "event": "e",
        "products": [None, "", {"price": None, "name": None, "quantity": None}],
    }
    # null inside an item survives to coercion: "" for strings, 0 for numbers
    assert fields(PURCHASE, payload)["products"] == [{"price": 0, "name": "", "quantity": 0}]


# --- §5.3 drop undeclared keys ---------------------------------------------------------------


def test_undeclared_keys_are_dropped():
    prepared = prepare_payload(TRACK, {"event": "e", "nope": 1}, batch=False)
    assert prepared.fields == {"event": "e"}
    assert prepared.dropped == ["nope"]


def test_undeclared_sub_object_keys_are_dropped():
    payload = {"event": "e", "utm_properties": {"utm_source": "s", "gclid": "x"}}
    assert fields(TRACK, payload)["utm_properties"] == {"utm_source": "s"}


def test_product_items_keep_their_extra_keys():
    payload = {"event": "e", "products": [{"price": "1", "color": "teal", "zzz": None}]}
    assert fields(PURCHASE, payload)["products"] == [{"price": 1, "color": "teal", "zzz": None}]


# --- §5.4 coercion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, "12345"),
        (1.0, "1"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (True, "true"),
        (False, "false"),
        ([7], "7"),
        (["x"], "x"),
        (2**60, "1152921504606846976"),
    ],
)
def test_string_coercion_follows_javascript(value, expected):
    assert fields(TRACK, {"event": value})["event"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "Event Name must be a string but it was an object."),
        (["a", "b"], "Event Name must be a string but it was an array."),
        ([], "Event Name must be a string but it was an array."),
    ],
)
def test_string_rejections(value, message):
    assert error(TRACK, {"event": value}) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1280", 1280), (" 3 ", 3), ("1e2", 100), ("0x10", 16), (True, 1), (False, 0), ("1.5", 1.5)],
)
def test_number_coercion_uses_javascript_number(value, expected):
    result = fields(TRACK, {"event": "e", "screen_width": value})["screen_width"]
    assert result == expected and type(result) is type(expected)


def test_infinity_text_is_accepted_and_sent_as_null():
    # ajv lets "Infinity" through; JSON.stringify(Infinity) is null.
    assert fields(TRACK, {"event": "e", "screen_width": "Infinity"})["screen_width"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Screen width must be a number but it was a string."),
        ("NaN", "Screen width must be a number but it was a string."),
        ({}, "Screen width must be a number but it was an object."),
        ([{}], "Screen width must be a number but it was an object."),
    ],
)
def test_number_rejections(value, message):
    assert error(TRACK, {"event": "e", "screen_width": value}) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), (1, True), (0, False), (["true"], True)],
)
def test_boolean_coercion(value, expected):
    assert fields(TRACK, {"event": "e", "wifi": value})["wifi"] is expected


@pytest.mark.parametrize("value", ["yes", 2, "1", {}])
def test_boolean_rejections(value):
    kind = "an object" if value == {} else ("a number" if value == 2 else "a string")
    assert (
        error(TRACK, {"event": "e", "wifi": value}) == f"Wifi must be a boolean but it was {kind}."
    )


def test_integer_fields_reject_fractions():
    payload = {"event": "e", "products": [{"quantity": 1.5}]}
    assert error(PURCHASE, payload) == "Quantity must be an integer but it was a number."
    payload = {"event": "e", "products": [{"quantity": "2.5"}]}
    assert error(PURCHASE, payload) == "Quantity must be an integer but it was a string."


def test_product_coercion():
    payload = {"event": "e", "products": [{"price": "12.50", "quantity": "2", "sku": 5}]}
    assert fields(PURCHASE, payload)["products"] == [{"price": 12.5, "quantity": 2, "sku": "5"}]


def test_a_single_product_object_is_a_one_item_list():
    assert fields(PURCHASE, {"event": "e", "products": {"price": "3"}})["products"] == [
        {"price": 3}
    ]


def test_a_product_that_is_not_an_object():
    assert error(PURCHASE, {"event": "e", "products": ["x"]}) == (
        "The value at /products/0 must be an object but it was a string."
    )


def test_product_labels_are_segments_and_capitalized_in_messages():
    payload = {"event": "e", "products": [{"product_id": {}, "position": "p", "url": [1, 2]}]}
    assert error(PURCHASE, payload) == (
        "Product Id must be a string but it was an object. "
        "Position must be a number but it was a string. "
        "Url must be a string but it was an array."
    )


def test_objects_accept_objects_only():
    assert error(TRACK, {"event": "e", "event_properties": "abc"}) == (
        "Event Properties must be an object but it was a string."
    )
    assert error(TRACK, {"event": "e", "event_properties": [{}]}) == (
        "Event Properties must be an object but it was an array."
    )
    assert (
        error(IDENTIFY, {"traits": "x"}) == "User Properties must be an object but it was a string."
    )


def test_nullable_fields_name_null_in_their_type():
    assert (
        error(IDENTIFY, {"user_id": {}}) == "User ID must be a string or null but it was an object."
    )


def test_one_element_arrays_of_union_types_behave_like_segment():
    # ajv never accepts the element of a union type as is: it must go through a coercion.
    assert fields(IDENTIFY, {"user_id": [5]})["user_id"] == "5"
    assert fields(IDENTIFY, {"user_id": [None]})["user_id"] == ""
    assert error(IDENTIFY, {"user_id": ["x"]}) == (
        "User ID must be a string or null but it was a string."
    )
    assert error(TRACK, {"event": "e", "time": ["2025-04-22"]}) == (
        "Timestamp must be a string or number but it was a string."
    )


@pytest.mark.parametrize(
    "value", ["yesterday", True, False, "0x10", "1e300", "Infinity", "2025-04-22T25:00:00Z"]
)
def test_unparseable_times_fail_validation(value):
    assert error(TRACK, {"event": "e", "time": value}) == (
        "Timestamp must be a valid date-like string but it was not."
    )


def test_a_time_that_is_an_object():
    assert error(TRACK, {"event": "e", "time": {}}) == (
        "Timestamp must be a string or number but it was an object."
    )


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (5000, "Batch Size must be equal to or less than 2000."),
        (0, "Batch Size must be equal to or greater than 1."),
        ("3000", "Batch Size must be equal to or less than 2000."),
        ("Infinity", "Batch Size must be equal to or less than 2000."),
    ],
)
def test_batch_size_range(size, message):
    assert error(TRACK, {"event": "e", "batch_size": size}) == message


def test_required_messages_come_first_then_field_order():
    payload = {"screen_width": "w", "products": [{"price": "x", "quantity": 1.5}]}
    assert error(PURCHASE, payload) == (
        "The root value is missing the required field 'event'. "
        "Screen width must be a number but it was a string. "
        "Price must be a number but it was a string. "
        "Quantity must be an integer but it was a number."
    )


def test_a_required_field_removed_as_empty_counts_as_missing():
    assert error(get_action("groupIdentifyUser"), {"group_id": None}) == (
        "The root value is missing the required field 'group_id'."
    )


def test_it_records_what_it_removed_and_coerced():
    prepared = prepare_payload(TRACK, {"event": 5, "user_id": None, "x": 1}, batch=False)
    assert prepared.removed == ["user_id"]
    assert prepared.dropped == ["x"]
    assert prepared.coerced == ["event"]


# --- §7.3 dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2025-02-10T14:03:27.512+01:00", 1739192607512),
        ("2025-06-01T09:30:00Z", 1748770200000),
        ("2025-04-22T16:45:10", 1745340310000),  # no zone: UTC
        ("2025-04-22 16:45:10", 1745340310000),
        ("2025/04/22", 1745280000000),
        ("2025-04-22", 1745280000000),  # date alone: midnight UTC
        ("2025-04-22T16:45:10.123456Z", 1745340310123),  # digits beyond ms truncated
        ("2025-04-22T16:45:10+0200", 1745333110000),
        ("20250422", 1745280000000),  # digits: a compact calendar date
        ("1745340310", -7013397600000),  # 1745-34-03 10h → 1747-10-03T10:00Z, as dayjs reads it
        ("2025-02-30", 1740873600000),  # overflows like Date.UTC
        ("2025-04-22T16:45:10.5", 1745340310005),  # dayjs reads ".5" as 5 ms
        ("Tue, 22 Apr 2025 16:45:10 +0200", 1745333110000),
        ("Tue, 22 Apr 2025 16:45:10 GMT", 1745340310000),
        ("April 22, 2025", 1745280000000),
        ("Tue Apr 22 2025 16:45:10 GMT+0000 (Coordinated Universal Time)", 1745340310000),
        ("4/22/2025 10:00 PM", 1745359200000),
        ("+002025-04-22T16:45:10Z", 1745340310000),
        ("-000001-01-01T00:00:00Z", -62198755200000),
        # Found by differential fuzzing against Segment's destination (node's dayjs and Date):
        ("2025-04-22 16:45:10 UTC", 1745340310000),  # Ruby's Time#to_s
        ("2025-04-22 16:45:10 +0200", 1745333110000),
        ("2025-04-22 16:45:10.123 utc", 1745340310123),
        ("2025/04/22 16:45:10 GMT+0200", 1745333110000),
        ("2025.04.22", 1745280000000),
        (" 2025-04-22 ", 1745280000000),  # white space around a date without a "T" is read
        ("\t2025/04/22", 1745280000000),
        (" 2025/04/22 10:00:05.5", 1745316005500),  # JavaScript's reader: ".5" is 500 ms here
        (" 2025-04", 1743465600000),
    ],
)
def test_date_strings_become_utc_epoch_ms(text, ms):
    assert is_date_like(text)
    assert parse_date_ms(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "2025-04-22T16:45:10.123Z ",  # JavaScript's ISO reader takes no surrounding white space
        " 2025-04-22T16:45:10+02:00",
        "2025-04-22T16:45:10Z\n",  # nor a final line break (a Python "$" would)
        "2025-04-22T16:45:10 UTC",
        " 2025/04/22 10",  # dayjs's loose pattern would read these; JavaScript's reader does not
        " 2025-04-22 10:00:05,5",
        "2025-13-22 10:00 UTC",
    ],
)
def test_strings_javascript_does_not_read_as_dates_fail_validation(text):
    assert not is_date_like(text)
    assert parse_date_ms(text) is None


def test_numeric_text_is_date_like_as_seconds():
    assert is_date_like("1745340310") and is_date_like("0")
    assert not is_date_like("1e300")


def test_date_utc_overflows_like_javascript():
    assert utc_ms(2025, 12, 1) == utc_ms(2026, 0, 1)
    assert utc_ms(99, 0, 1) == utc_ms(1999, 0, 1)
    assert utc_ms(275761, 0, 1) is None


# --- entry points: semantics -----------------------------------------------------------------


def test_track_actions_use_batch_semantics_when_batching_is_enabled():
    assert uses_batch_semantics("trackEvent", {"enable_batching": True})
    assert uses_batch_semantics("trackPurchase", {"enable_batching": "true"})
    assert not uses_batch_semantics("trackEvent", {"enable_batching": False})
    assert not uses_batch_semantics("trackEvent", {})
    assert not uses_batch_semantics("identifyUser", {"enable_batching": True})


def test_perform_picks_the_semantics_from_the_mapping():
    resolved = {"event": "e", "user_id": "", "enable_batching": True}
    kept = perform(
        "trackEvent", resolved, SETTINGS, event={}, stored_event_id="1", received_at_ms=1
    )
    assert kept.fields["user_id"] == ""
    resolved["enable_batching"] = False
    removed = perform(
        "trackEvent", resolved, SETTINGS, event={}, stored_event_id="1", received_at_ms=1
    )
    assert "user_id" not in removed.fields
    forced = perform(
        "trackEvent",
        {**resolved, "enable_batching": True},
        SETTINGS,
        event={},
        stored_event_id="1",
        received_at_ms=1,
        batching=False,
    )
    assert "user_id" not in forced.fields


def test_perform_batch_returns_one_outcome_per_event():
    results = perform_batch(
        "trackEvent",
        [{"event": "a"}, {"event": "b", "time": "nope"}, {"event": ""}],
        SETTINGS,
        events=[{}, {}, {}],
        stored_event_ids=["1", "2", "3"],
        received_at_ms=[1, 2, 3],
    )
    assert results[0].records[0].body["event"] == "a"
    assert isinstance(results[1], PayloadValidationError)
    assert results[1].message == "Timestamp must be a valid date-like string but it was not."
    assert results[2].records[0].body["event"] == ""  # batch semantics keep it; Mixpanel rejects


@pytest.mark.parametrize(
    "action_id", ["identifyUser", "groupIdentifyUser", "alias", "incrementProperties"]
)
def test_a_batch_call_to_a_non_batch_action_is_refused(action_id):
    with pytest.raises(PayloadValidationError) as caught:
        perform_batch(
            action_id, [{}], SETTINGS, events=[{}], stored_event_ids=["1"], received_at_ms=[1]
        )
    assert (
        caught.value.message
        == BATCH_NOT_SUPPORTED
        == "This action does not support batched requests."
    )
    assert caught.value.status == 501


def test_raw_settings_are_validated():
    from mappings.destinations.mixpanel.types import SettingsError

    with pytest.raises(SettingsError):
        perform("trackEvent", {"event": "e"}, {}, event={}, stored_event_id="1", received_at_ms=1)
    result = perform(
        "trackEvent",
        {"event": "e"},
        {"projectToken": "t"},
        event={},
        stored_event_id="1",
        received_at_ms=1,
    )
    assert result.records
