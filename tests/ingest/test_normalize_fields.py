"""Per-message rules (spec §5.2, §5.3), parser repairs pinned on messages (§4.3, §4.4), the
stored ``integrations`` (§5.6), quarantine of unexpected faults (§5.7) and the analytics-python
vs Node shapes (§1). §8 rows: 5, 6, 8, 29–35, 44, 46–50, 55 (see ``test_normalize.py``).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from mappings.engine.integrations import MIXPANEL_KEYS, integrations_decision
from mappings.ingest import normalize
from mappings.jsoncodec import dumps_compact
from tests.ingest.normalize_support import only_reject, run, run_bytes, track

# --- rows 29–35: §5.2 and §5.3 --------------------------------------------------------------------


def test_row29_an_integer_user_id_becomes_a_string():
    accepted = run({"batch": [track(userId=12345)]}).accepted[0]
    assert accepted.message["userId"] == "12345"
    assert accepted.warnings == ["coerced_id"]
    big = run({"batch": [track(userId=9007199254740993)]}).accepted[0]
    assert big.message["userId"] == "9007199254740993"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"userId": True}, "userId", id="row30-bool-user-id"),
        pytest.param({"userId": {}}, "userId", id="row30-object-user-id"),
        pytest.param({"userId": 1.5}, "userId", id="row30-float-user-id"),
        pytest.param({"anonymousId": ["a"]}, "anonymousId", id="array-anonymous-id"),
        pytest.param({"messageId": 1.0}, "messageId", id="float-message-id"),
        pytest.param({"properties": []}, "properties", id="row30-array-properties"),
        pytest.param({"context": "x"}, "context", id="string-context"),
        pytest.param({"integrations": True}, "integrations", id="bool-integrations"),
        pytest.param({"traits": 1}, "traits", id="number-traits"),
        pytest.param({"event": 42}, "event", id="row33-number-event"),
        pytest.param({"name": ["Home"]}, "name", id="array-name"),
        pytest.param({"category": {}}, "category", id="object-category"),
    ],
)
def test_row30_wrong_field_types_reject_the_message_and_name_the_field(fields, field):
    result = run({"batch": [track(**fields), track()]})
    reject = only_reject(result)
    assert (reject.index, reject.code, reject.field) == (0, "invalid_field_type", field)
    assert result.response_body()["rejected"][0]["field"] == field
    assert [a.index for a in result.accepted] == [1]


def test_null_objects_become_empty_and_null_texts_and_ids_disappear():
    message = track(properties=None, context=None, name=None, category=None, anonymousId=None)
    stored = run({"batch": [message]}).accepted[0].message
    assert (stored["properties"], stored["context"]) == ({}, {})
    assert not {"name", "category", "anonymousId"} & stored.keys()


def test_blank_ids_are_absent():
    stored = run({"batch": [track(anonymousId="a1", userId="   ")]}).accepted[0].message
    assert "userId" not in stored and stored["anonymousId"] == "a1"


def test_row31_a_track_without_any_id_is_rejected_and_the_rest_accepted():
    result = run({"batch": [track(), track(userId=None, anonymousId=""), track()]})
    assert (only_reject(result).index, only_reject(result).code) == (1, "no_user_anon_id")
    assert [a.index for a in result.accepted] == [0, 2]


SPEC_PLACEHOLDERS = (
    "00000000-0000-0000-0000-000000000000 anon anonymous nil none null n/a na undefined unknown"
    " <nil> 0 -1 true false [] {}"
).split()


@pytest.mark.parametrize("value", [*SPEC_PLACEHOLDERS, " Undefined ", "NULL", "N/A"])
def test_row32_placeholder_ids_are_stored_verbatim_with_a_warning(value):
    accepted = run({"batch": [track(userId=value)]}).accepted[0]
    assert accepted.message["userId"] == value
    assert "placeholder_id" in accepted.warnings


def test_row32_an_integer_zero_user_id_is_both_coerced_and_a_placeholder():
    assert run({"batch": [track(userId=0)]}).accepted[0].warnings == [
        "coerced_id",
        "placeholder_id",
    ]


@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        pytest.param({"type": "track", "userId": "u"}, "missing_event", "event", id="row33-none"),
        pytest.param(track(event="  "), "missing_event", "event", id="row33-blank"),
        pytest.param(track(event=42), "invalid_field_type", "event", id="row33-number"),
        pytest.param(
            {"type": "group", "userId": "u"}, "missing_group_id", "groupId", id="row34-group"
        ),
        pytest.param(
            {"type": "alias", "userId": "u"},
            "missing_previous_id",
            "previousId",
            id="row34-alias-previous",
        ),
        pytest.param(
            {"type": "alias", "previousId": "p", "anonymousId": "a"},
            "missing_user_id",
            "userId",
            id="row34-alias-user",
        ),
        pytest.param({"type": "page", "name": "Home"}, "no_user_anon_id", None, id="page-no-id"),
        pytest.param(track(type="purchase"), "invalid_type", None, id="row35-unknown-type"),
        pytest.param(track(type=None), "invalid_type", None, id="row35-no-type"),
        pytest.param(track(type=1), "invalid_type", None, id="numeric-type"),
        pytest.param(None, "invalid_message", None, id="row35-null-item"),
        pytest.param("track", "invalid_message", None, id="row35-string-item"),
        pytest.param([track()], "invalid_message", None, id="array-item"),
    ],
)
def test_rows_33_to_35_invalid_messages_are_rejected_alone(message, code, field):
    result = run({"batch": [track(), message]})
    reject = only_reject(result)
    assert (reject.index, reject.code, reject.field) == (1, code, field)
    assert json.loads(reject.raw) == message
    assert len(result.accepted) == 1


def test_track_event_is_stored_untrimmed():
    assert run({"batch": [track(event=" Signed Up ")]}).accepted[0].message["event"] == (
        " Signed Up "
    )


def test_valid_minimal_messages_of_every_type_are_accepted():
    messages = [
        track(),
        {"type": "identify", "userId": "u", "traits": {"plan": "pro"}},
        {"type": "page", "anonymousId": "a", "name": None, "category": None},
        {"type": "screen", "anonymousId": "a", "name": "Home"},
        {"type": "group", "userId": "u", "groupId": "g"},
        {"type": "alias", "previousId": "a", "userId": "u"},
    ]
    result = run({"batch": messages})
    assert result.rejected == []
    assert [a.type for a in result.accepted] == [m["type"] for m in messages]


def test_a_rejected_message_keeps_a_usable_message_id_for_deduplication():
    reject = only_reject(run({"batch": [{"type": "track", "messageId": "m-1"}]}))
    assert reject.message_id == "m-1"
    assert run({"batch": [{"type": "track", "messageId": 7}]}).rejected[0].message_id == "7"


# --- rows 5, 6, 8, 50: parser repairs land on the right message ----------------------------------


def test_rows_5_6_8_repair_warnings_are_attached_to_their_own_message():
    data = (
        b'{"batch": ['
        b'{"type": "track", "event": "A", "userId": "u", "messageId": "1", "properties": {}},'
        b'{"type": "track", "event": "B\\udc00", "userId": "u", "messageId": "2",'
        b' "properties": {"k\\u0000": NaN}}'
        b'], "sentAt": "2026-03-10T12:00:05.000Z"}'
    )
    first, second = run_bytes(data).accepted
    assert first.warnings == []
    assert second.message["event"] == "B\ufffd"
    assert second.message["properties"] == {"k\ufffd": None}
    assert set(second.warnings) == {"replaced_lone_surrogate", "replaced_nul", "non_finite_number"}


def test_envelope_repairs_warn_every_message_that_inherits_them():
    data = b'{"batch": [{"type": "track", "event": "A", "userId": "u", "messageId": "1"}],'
    data += b' "context": {"v": NaN}}'
    accepted = run_bytes(data).accepted[0]
    assert accepted.message["context"] == {"v": None}
    assert accepted.warnings == ["non_finite_number"]


def test_repairs_on_a_single_route_belong_to_the_message():
    data = b'{"event": "A\\u0000", "userId": "u", "messageId": "1", "writeKey": "k\\u0000"}'
    assert run_bytes(data, "track").accepted[0].warnings == ["replaced_nul"]


def test_keys_made_equal_by_replacement_reject_only_that_message():
    data = (
        b'{"batch": [{"type": "track", "event": "A", "userId": "u",'
        b' "properties": {"a\\u0000": 1, "a\\ufffd": 2}},'
        b' {"type": "track", "event": "B", "userId": "u"}]}'
    )
    result = run_bytes(data)
    reject = only_reject(result)
    assert (reject.index, reject.code, reject.field) == (
        0,
        "invalid_field_type",
        "properties.a\ufffd",
    )
    assert [a.index for a in result.accepted] == [1]


def test_row50_duplicate_keys_keep_the_last_value():
    data = b'{"batch": [{"type": "track", "event": "A", "event": "B", "userId": "u"}]}'
    assert run_bytes(data).accepted[0].message["event"] == "B"


# --- rows 44, 46, 47, 48, 49 ------------------------------------------------------------------------


def test_row44_a_repeated_message_id_gets_the_same_dedup_hash():
    first, second = run(
        {"batch": [track(messageId="m1"), track(messageId="m1", event="X")]}
    ).accepted
    assert first.dedup_hash == second.dedup_hash  # the storage layer keeps the first


def test_row46_a_300_character_message_id_is_kept_and_hashed():
    message_id = "m" * 300
    accepted = run({"batch": [track(messageId=message_id)]}).accepted[0]
    assert accepted.message["messageId"] == message_id
    assert accepted.dedup_hash == hashlib.sha256(message_id.encode()).hexdigest()
    assert len(accepted.dedup_hash) == 64


@pytest.mark.parametrize(
    ("integrations", "enabled"),
    [
        pytest.param({"Mixpanel": False}, False, id="row47"),
        pytest.param({"All": False, "Mixpanel": True}, True, id="row48-delivered"),
        pytest.param({"All": False}, False, id="row48-filtered"),
        pytest.param({"All": False, "Mixpanel": {}}, False, id="row48-object-filtered"),
    ],
)
def test_rows_47_48_integrations_are_stored_verbatim_for_routing(integrations, enabled):
    stored = run({"batch": [track(integrations=integrations)]}).accepted[0].message
    assert stored["integrations"] == integrations
    assert integrations_decision(stored["integrations"], MIXPANEL_KEYS)[0] is enabled


def test_row49_markup_is_stored_verbatim():
    hostile = {"<script>alert(1)</script>": '"><img src=x onerror=alert(1)>'}
    message = track(event="javascript:alert(1)", properties=hostile)
    stored = run({"batch": [message]}).accepted[0].message
    assert stored["event"] == "javascript:alert(1)"
    assert stored["properties"] == hostile


# --- row 55: an unexpected fault is quarantined -------------------------------------------------------


def test_row55_a_crash_while_normalising_one_message_quarantines_only_it(monkeypatch):
    real = normalize.check_required

    def faulty(kind, message, ids):
        if message.get("event") == "boom":
            raise RuntimeError("injected fault")
        real(kind, message, ids)

    monkeypatch.setattr(normalize, "check_required", faulty)
    result = run({"batch": [track(), track(event="boom", messageId="m-boom"), track()]})
    reject = only_reject(result)
    assert (reject.index, reject.code, reject.message_id) == (1, "internal_error", "m-boom")
    assert json.loads(reject.raw) == track(event="boom", messageId="m-boom")
    assert "injected" not in reject.message
    assert [a.index for a in result.accepted] == [0, 2]


# --- analytics-python and Node send the same event ------------------------------------------------


def test_python_and_node_shapes_store_byte_identical_messages():
    common = {
        "type": "page",
        "anonymousId": "anon-1",
        "properties": {"title": "Caf\u00e9 \U0001f680", "\u00fcber": "\u65e5\u672c\u8a9e"},
        "context": {"library": {"name": "x", "version": "1"}},
        "timestamp": "2026-03-10T11:58:00.000+00:00",
        "messageId": "9f3b7c1e-0000-4000-8000-000000000001",
    }
    python_message = {**common, "userId": None, "name": None, "category": None}
    python = json.dumps(
        {"batch": [python_message], "sentAt": "2026-03-10T11:58:05+00:00", "writeKey": "k"}
    ).encode()
    node = json.dumps(
        {"batch": [common], "sentAt": "2026-03-10T11:58:05+00:00", "writeKey": "k"},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    assert b"\\ud83d\\ude80" in python and "\U0001f680".encode() in node

    from_python, from_node = run_bytes(python).accepted[0], run_bytes(node).accepted[0]
    assert dumps_compact(from_python.message) == dumps_compact(from_node.message)
    assert from_python.message["properties"]["title"] == "Caf\u00e9 \U0001f680"
