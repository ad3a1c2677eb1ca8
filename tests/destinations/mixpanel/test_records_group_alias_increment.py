"""groupIdentifyUser (§10), alias (§11) and incrementProperties (§12)."""

from __future__ import annotations

import pytest

from mappings.destinations.mixpanel.actions import default_mapping
from mappings.destinations.mixpanel.perform import perform
from mappings.destinations.mixpanel.presets import get_preset
from mappings.destinations.mixpanel.profile_records import ALIAS_SKIPPED_REASON
from mappings.destinations.mixpanel.settings_schema import validate_settings
from mappings.destinations.mixpanel.types import MixpanelSettings, PayloadValidationError, Record
from mappings.engine import mapping_kit

SIMPLIFIED = MixpanelSettings(project_token="tok")
ORIGINAL = MixpanelSettings(project_token="tok", id_merge_mode="original")


def run(action_id, resolved, settings=SIMPLIFIED):
    return perform(
        action_id, resolved, settings, event={}, stored_event_id="evt-1", received_at_ms=1
    )


def failure(action_id, resolved, settings=SIMPLIFIED) -> PayloadValidationError:
    with pytest.raises(PayloadValidationError) as caught:
        run(action_id, resolved, settings)
    return caught.value


# --- groupIdentifyUser -----------------------------------------------------------------------

GROUP_EVENT = {
    "type": "group",
    "groupId": "ws-12",
    "userId": "u-1",
    "traits": {"name": "Northwind Ops", "seats": 40, "created_at": "2022-01-15"},
}


def test_the_spec_group_example_with_a_group_key():
    mapping = {**default_mapping("groupIdentifyUser"), "group_key": "workspace_id"}
    resolved = mapping_kit.transform(mapping, GROUP_EVENT)
    assert run("groupIdentifyUser", resolved).records == [
        Record(
            "groups",
            {
                "$token": "tok",
                "$group_key": "workspace_id",
                "$group_id": "ws-12",
                "$set": {"seats": 40, "$name": "Northwind Ops", "$created": "2022-01-15"},
            },
            "group",
        )
    ]


def test_the_group_calls_preset_uses_the_group_id_key():
    resolved = mapping_kit.transform(get_preset("Group Calls").mapping, GROUP_EVENT)
    [record] = run("groupIdentifyUser", resolved).records
    assert record.body["$group_key"] == "$group_id"
    assert record.body["$group_id"] == "ws-12"


def test_an_empty_group_key_is_the_default_key():
    [record] = run("groupIdentifyUser", {"group_key": "", "group_id": "g", "traits": {}}).records
    assert record.body == {"$token": "tok", "$group_key": "$group_id", "$group_id": "g", "$set": {}}


def test_a_truthy_trait_named_by_the_key_wins_and_stays_in_set():
    resolved = {"group_id": "g", "traits": {"$group_id": "from-trait", "seats": 1}}
    [record] = run("groupIdentifyUser", resolved).records
    assert record.body["$group_id"] == "from-trait"
    assert record.body["$set"] == {"$group_id": "from-trait", "seats": 1}


@pytest.mark.parametrize("falsy", ["", 0, None, False])
def test_a_falsy_trait_falls_back_to_the_group_id(falsy):
    resolved = {"group_key": "k", "group_id": "g", "traits": {"k": falsy}}
    [record] = run("groupIdentifyUser", resolved).records
    assert record.body["$group_id"] == "g"


def test_group_name_is_copied_even_when_null_without_a_first_last_fallback():
    resolved = {"group_id": "g", "traits": {"name": None, "firstName": "A", "lastName": "B"}}
    [record] = run("groupIdentifyUser", resolved).records
    assert record.body["$set"] == {"firstName": "A", "lastName": "B", "$name": None}


def test_group_created_follows_the_nullish_chain():
    resolved = {"group_id": "g", "traits": {"created": None, "createdAt": "b", "email": "e"}}
    [record] = run("groupIdentifyUser", resolved).records
    assert record.body["$set"] == {"email": "e", "$created": "b"}


def test_a_numeric_group_id_is_sent_as_text():
    [record] = run("groupIdentifyUser", {"group_id": 5, "traits": {}}).records
    assert record.body["$group_id"] == "5"


def test_missing_traits():
    error = failure("groupIdentifyUser", {"group_id": "g"})
    assert (error.message, error.code, error.status) == (
        '"traits" is a required field',
        "Missing required fields",
        400,
    )


def test_a_missing_group_id():
    error = failure("groupIdentifyUser", {"traits": {}})
    assert error.message == "The root value is missing the required field 'group_id'."


def test_a_group_update_never_touches_the_user_profile():
    [record] = run("groupIdentifyUser", {"group_id": "g", "traits": {"a": 1}}).records
    assert "$distinct_id" not in record.body


# --- alias -----------------------------------------------------------------------------------

ALIAS_EVENT = {
    "type": "alias",
    "previousId": "c0ffee00-1234-4abc-9def-0123456789ab",
    "userId": "acct-3391",
}


def test_alias_in_original_mode_sends_create_alias_to_track():
    resolved = mapping_kit.transform(default_mapping("alias"), ALIAS_EVENT)
    assert run("alias", resolved, ORIGINAL).records == [
        Record(
            "track",
            {
                "event": "$create_alias",
                "properties": {
                    "distinct_id": "c0ffee00-1234-4abc-9def-0123456789ab",
                    "alias": "acct-3391",
                    "token": "tok",
                },
            },
            "$create_alias",
        )
    ]


def test_alias_carries_the_source_name():
    settings = validate_settings(
        {"projectToken": "tok", "idMergeMode": "original", "sourceName": "S"}
    )
    [record] = run("alias", {"alias": "a", "distinct_id": "d"}, settings).records
    assert record.body["properties"]["segment_source_name"] == "S"


def test_alias_sends_null_and_absent_ids_as_they_are():
    [record] = run("alias", {"alias": None}, ORIGINAL).records
    assert record.body == {"event": "$create_alias", "properties": {"alias": None, "token": "tok"}}
    [record] = run("alias", {}, ORIGINAL).records
    assert record.body == {"event": "$create_alias", "properties": {"token": "tok"}}


def test_alias_in_simplified_mode_is_skipped_with_the_exact_reason():
    result = run("alias", {"alias": "a", "distinct_id": "d"})
    assert result.records == []
    assert (
        result.skipped
        == ALIAS_SKIPPED_REASON
        == (
            "alias ignored: Mixpanel ignores $create_alias on projects using Simplified ID Merge "
            '(set ID Merge Mode to "original" if your project uses Original ID Merge)'
        )
    )
    assert [(n.code, n.message) for n in result.notes] == [("alias-skipped", ALIAS_SKIPPED_REASON)]


# --- incrementProperties ---------------------------------------------------------------------


def increment(values, **extra):
    return run("incrementProperties", {"user_id": "u", "increment": values, **extra})


def test_increment_record():
    result = increment({"logins": 1}, ip="1.2.3.4")
    assert result.records == [
        Record(
            "engage",
            {"$token": "tok", "$distinct_id": "u", "$ip": "1.2.3.4", "$add": {"logins": 1}},
            "increment",
            idempotent=False,
        )
    ]


def test_values_are_converted_the_javascript_number_way_and_others_skipped():
    values = {
        "n": 1.5,
        "s": "3",
        "padded": " 3 ",
        "exp": "1e2",
        "hex": "0x10",
        "empty": "",
        "bool": True,
        "null": None,
        "list": [1],
        "obj": {},
    }
    [record] = increment(values).records
    assert record.body["$add"] == {"n": 1.5, "s": 3, "padded": 3, "exp": 100, "hex": 16, "empty": 0}


def test_every_value_skipped_still_sends_an_empty_add():
    [record] = increment({"a": None, "b": True}).records
    assert record.body["$add"] == {}


def test_a_non_numeric_string_fails_the_event():
    with pytest.raises(PayloadValidationError) as caught:
        increment({"a": 1, "bad": "abc"})
    assert (caught.value.message, caught.value.code, caught.value.status) == (
        'The key "bad" was not numeric',
        "Non numeric increment value",
        400,
    )


def test_twenty_keys_is_the_limit_and_every_key_counts():
    assert increment({f"k{i}": i for i in range(20)}).records
    with pytest.raises(PayloadValidationError) as caught:
        increment({f"k{i}": None for i in range(21)})
    assert caught.value.message == "Exceeded maximum of 20 properties for increment call"
    assert caught.value.code == "PAYLOAD_VALIDATION_FAILED"


def test_an_empty_increment_is_skipped():
    result = increment({})
    assert result.records == [] and result.skipped == "nothing to increment"


def test_a_missing_increment():
    error = failure("incrementProperties", {"user_id": "u"})
    assert error.message == "The root value is missing the required field 'increment'."


def test_the_distinct_id_is_user_id_then_anonymous_id():
    run_ = run
    [record] = run_(
        "incrementProperties", {"user_id": None, "anonymous_id": "a", "increment": {"x": 1}}
    ).records
    assert record.body["$distinct_id"] == "a"
    [record] = run_(
        "incrementProperties", {"user_id": None, "anonymous_id": None, "increment": {"x": 1}}
    ).records
    assert record.body["$distinct_id"] is None and record.isolate


def test_add_is_never_idempotent():
    [record] = increment({"x": 1}).records
    assert record.idempotent is False


def test_the_default_mapping_reads_properties_increment():
    event = {
        "type": "track",
        "event": "e",
        "userId": "u",
        "context": {"ip": "1.2.3.4"},
        "properties": {"increment": {"x": "2"}},
    }
    resolved = mapping_kit.transform(default_mapping("incrementProperties"), event)
    [record] = run("incrementProperties", resolved).records
    assert record.body == {"$token": "tok", "$distinct_id": "u", "$ip": "1.2.3.4", "$add": {"x": 2}}


def test_increment_needs_a_project_token_when_settings_validation_is_bypassed():
    error = failure(
        "incrementProperties", {"increment": {"x": 1}}, MixpanelSettings(project_token="")
    )
    assert error.message == "Missing project token"
