"""identifyUser (spec §9): the profile update and both identity modes (D4)."""

from __future__ import annotations

import uuid

import pytest

from mappings.destinations.mixpanel.actions import default_mapping
from mappings.destinations.mixpanel.identity import INSERT_ID_NAMESPACE
from mappings.destinations.mixpanel.perform import perform
from mappings.destinations.mixpanel.profile_records import profile_set
from mappings.destinations.mixpanel.settings_schema import validate_settings
from mappings.destinations.mixpanel.types import MixpanelSettings, PayloadValidationError, Record
from mappings.engine import mapping_kit

RECEIVED_AT = 1_748_779_200_000
SIMPLIFIED = MixpanelSettings(project_token="tok")
ORIGINAL = MixpanelSettings(project_token="tok", id_merge_mode="original")

# §9.5
EXAMPLE_EVENT = {
    "type": "identify",
    "userId": "mara-5512",
    "anonymousId": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
    "messageId": "idf-2231",
    "timestamp": "2025-03-04T08:15:00Z",
    "context": {"ip": "192.0.2.77"},
    "traits": {
        "email": "mara@example.net",
        "firstName": "Mara",
        "lastName": "Quist",
        "plan": "team",
        "createdAt": "2023-11-02",
    },
}
EXAMPLE_PROFILE = {
    "$token": "tok",
    "$distinct_id": "mara-5512",
    "$ip": "192.0.2.77",
    "$set": {
        "plan": "team",
        "$created": "2023-11-02",
        "$email": "mara@example.net",
        "$first_name": "Mara",
        "$last_name": "Quist",
        "$name": "Mara Quist",
    },
}


def resolve(event):
    return mapping_kit.transform(default_mapping("identifyUser"), event)


def identify(resolved, settings=SIMPLIFIED, *, event=None, stored_event_id="evt-1"):
    return perform(
        "identifyUser",
        resolved,
        settings,
        event=event if event is not None else {},
        stored_event_id=stored_event_id,
        received_at_ms=RECEIVED_AT,
    )


# --- the §9.5 example, both modes ------------------------------------------------------------


def test_the_spec_example_in_simplified_mode():
    result = identify(resolve(EXAMPLE_EVENT), event=EXAMPLE_EVENT)
    assert result.records == [
        Record(
            "import",
            {
                "event": "$identify",
                "properties": {
                    "time": 1741076100000,
                    "distinct_id": "mara-5512",
                    "$user_id": "mara-5512",
                    "$device_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
                    "$insert_id": "idf-2231",
                    "ip": "192.0.2.77",
                },
            },
            "$identify",
            insert_id="idf-2231",
        ),
        Record("engage", EXAMPLE_PROFILE, "profile"),
    ]
    assert result.skipped is None


def test_the_spec_example_in_original_mode():
    result = identify(resolve(EXAMPLE_EVENT), ORIGINAL, event=EXAMPLE_EVENT)
    assert result.records == [
        Record(
            "track",
            {
                "event": "$identify",
                "properties": {
                    "$identified_id": "mara-5512",
                    "$anon_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
                    "token": "tok",
                },
            },
            "$identify",
            gates_following=True,
        ),
        Record("engage", EXAMPLE_PROFILE, "profile"),
    ]


def test_the_spec_example_from_a_hand_written_resolved_payload():
    resolved = {
        "ip": "192.0.2.77",
        "user_id": "mara-5512",
        "anonymous_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
        "traits": dict(EXAMPLE_EVENT["traits"]),
    }
    assert resolve(EXAMPLE_EVENT) == resolved
    assert identify(resolved, ORIGINAL).records[1].body == EXAMPLE_PROFILE


def test_the_source_name_goes_on_identity_events_only():
    settings = validate_settings({"projectToken": "tok", "sourceName": "Web App"})
    original = validate_settings(
        {"projectToken": "tok", "sourceName": "Web App", "idMergeMode": "original"}
    )
    for s in (settings, original):
        identity, profile = identify(resolve(EXAMPLE_EVENT), s, event=EXAMPLE_EVENT).records
        assert identity.body["properties"]["segment_source_name"] == "Web App"
        assert "segment_source_name" not in profile.body


# --- simplified $identify (§9.4) -------------------------------------------------------------


def test_simplified_identify_needs_both_ids():
    for drop in ("userId", "anonymousId"):
        event = {k: v for k, v in EXAMPLE_EVENT.items() if k != drop}
        assert [r.kind for r in identify(resolve(event), event=event).records] == ["profile"]


def test_simplified_identify_takes_time_and_insert_id_from_the_stored_event():
    event = dict(EXAMPLE_EVENT, messageId="ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0")
    del event["timestamp"]
    result = identify(resolve(event), event=event)
    properties = result.records[0].body["properties"]
    assert properties["time"] == RECEIVED_AT
    assert properties["$insert_id"] == "b17abe49-4ea7-51c8-a105-3fdbbca3ec91"
    assert [n.code for n in result.notes] == ["insert-id-derived", "time-from-received-at"]


def test_simplified_identify_without_a_message_id_uses_the_stored_event_id():
    event = {k: v for k, v in EXAMPLE_EVENT.items() if k != "messageId"}
    [identity, _] = identify(resolve(event), event=event, stored_event_id="88").records
    assert identity.insert_id == str(uuid.uuid5(INSERT_ID_NAMESPACE, "segmix-event:88"))


def test_simplified_identify_parses_the_timestamp_like_track_events():
    event = dict(EXAMPLE_EVENT, timestamp="20250304")
    [identity, _] = identify(resolve(event), event=event).records
    assert identity.body["properties"]["time"] == 1741046400000


# --- original $identify (§9.3) ---------------------------------------------------------------


def test_original_identify_needs_only_an_anonymous_id():
    event = {k: v for k, v in EXAMPLE_EVENT.items() if k != "userId"}
    identity, profile = identify(resolve(event), ORIGINAL, event=event).records
    assert identity.body == {
        "event": "$identify",
        "properties": {"$anon_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09", "token": "tok"},
    }
    assert profile.body["$distinct_id"] == "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09"


def test_original_identify_sends_a_null_user_id_as_null():
    resolved = {"user_id": None, "anonymous_id": "anon-1"}
    [identity] = identify(resolved, ORIGINAL).records
    assert identity.body["properties"] == {
        "$identified_id": None,
        "$anon_id": "anon-1",
        "token": "tok",
    }


def test_original_identify_gates_the_profile_update():
    identity, profile = identify(resolve(EXAMPLE_EVENT), ORIGINAL).records
    assert identity.gates_following and not profile.gates_following


# --- the profile update (§9.2) ---------------------------------------------------------------


def test_no_profile_update_without_traits():
    result = identify({"user_id": "u", "anonymous_id": "a", "traits": {}})
    assert [r.kind for r in result.records] == ["$identify"]


def test_nothing_to_send_is_a_skip_not_an_error():
    result = identify({"user_id": "u"})
    assert result.records == [] and result.skipped.startswith("nothing to send")
    result = identify({"user_id": "u"}, ORIGINAL)
    assert result.records == [] and result.skipped.startswith("nothing to send")


def test_an_empty_user_id_is_removed_so_the_anonymous_id_is_used():
    event = dict(EXAMPLE_EVENT, userId="")
    [profile] = identify(resolve(event), event=event).records
    assert profile.body["$distinct_id"] == "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09"


def test_a_profile_without_any_id_has_a_null_distinct_id_and_is_isolated():
    [profile] = identify({"user_id": None, "anonymous_id": None, "traits": {"a": 1}}).records
    assert profile.body == {"$token": "tok", "$distinct_id": None, "$set": {"a": 1}}
    assert profile.isolate


def test_a_profile_with_absent_ids_omits_the_distinct_id_and_is_isolated():
    [profile] = identify({"traits": {"a": 1}}).records
    assert profile.body == {"$token": "tok", "$set": {"a": 1}}
    assert profile.isolate


def test_a_placeholder_distinct_id_is_isolated():
    [profile] = identify({"user_id": "undefined", "traits": {"a": 1}}).records
    assert profile.isolate


def test_set_renames_special_traits_after_the_others():
    traits = {
        "avatar": "https://x/a.png",
        "email": "e@x",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "name": "Ada King",
        "username": "ada",
        "phone": "+441234",
        "created": "2024-01-02",
        "address": {"city": "London", "zip": None},
    }
    assert list(profile_set(traits).items()) == [
        ("avatar", "https://x/a.png"),  # not $avatar
        ("address", {"city": "London", "zip": None}),
        ("$created", "2024-01-02"),
        ("$email", "e@x"),
        ("$first_name", "Ada"),
        ("$last_name", "Lovelace"),
        ("$name", "Ada King"),
        ("$username", "ada"),
        ("$phone", "+441234"),
    ]


@pytest.mark.parametrize(
    ("traits", "created"),
    [
        ({"created": "a", "createdAt": "b", "created_at": "c"}, "a"),
        ({"created": None, "createdAt": "b", "created_at": "c"}, "b"),
        ({"createdAt": None, "created_at": "c"}, "c"),
        ({"created": None, "createdAt": None, "created_at": None}, None),
        ({"created_at": None}, None),
    ],
)
def test_created_follows_a_nullish_chain(traits, created):
    assert profile_set(traits)["$created"] == created


def test_created_is_absent_without_created_at():
    assert "$created" not in profile_set({"created": None, "createdAt": None})


@pytest.mark.parametrize(
    ("traits", "name"),
    [
        ({"name": "N", "firstName": "A", "lastName": "B"}, "N"),
        ({"name": None, "firstName": "A", "lastName": "B"}, "A B"),
        ({"firstName": "A", "lastName": "B"}, "A B"),
        ({"firstName": 1, "lastName": "B"}, "1 B"),
        ({"name": ""}, ""),
    ],
)
def test_name_falls_back_to_first_and_last_name(traits, name):
    assert profile_set(traits)["$name"] == name


@pytest.mark.parametrize("traits", [{"firstName": "A"}, {"firstName": "A", "lastName": ""}, {}])
def test_name_is_absent_without_both_names(traits):
    assert "$name" not in profile_set(traits)


def test_a_trait_present_as_null_is_copied_as_null():
    assert profile_set({"email": None, "phone": None}) == {"$email": None, "$phone": None}


def test_a_dollar_trait_is_replaced_by_the_renamed_one_even_when_absent():
    # JavaScript's {...traits, $email: traits.email} with no email leaves $email undefined.
    assert profile_set({"$email": "kept?", "$name": "n", "plan": "p"}) == {"plan": "p"}


def test_nothing_else_is_set():
    body = identify(resolve(EXAMPLE_EVENT)).records[1].body
    assert set(body) == {"$token", "$distinct_id", "$ip", "$set"}


# --- errors (§16) ----------------------------------------------------------------------------


def test_traits_must_be_an_object():
    with pytest.raises(PayloadValidationError) as caught:
        identify({"user_id": "u", "traits": "x"})
    assert caught.value.message == "User Properties must be an object but it was a string."


def test_a_missing_project_token_when_settings_validation_is_bypassed():
    with pytest.raises(PayloadValidationError) as caught:
        identify({"user_id": "u", "traits": {"a": 1}}, MixpanelSettings(project_token=""))
    assert (caught.value.message, caught.value.code, caught.value.status) == (
        "Missing project token",
        "Missing required field",
        400,
    )
