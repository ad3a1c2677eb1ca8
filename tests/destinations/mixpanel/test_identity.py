"""``$insert_id`` and ``time`` (spec §13, D2)."""

from __future__ import annotations

import doctest
import hashlib
import uuid

import pytest

from mappings.destinations.mixpanel import identity
from mappings.destinations.mixpanel.identity import (
    INSERT_ID_NAMESPACE,
    PLACEHOLDER_IDS,
    event_time_ms,
    insert_id_base,
    insert_id_for,
    is_valid_insert_id,
    product_insert_id,
    resolve_time,
)

RECEIVED_AT = 1_748_779_200_000


def test_docstring_examples_hold():
    result = doctest.testmod(identity)
    assert (result.attempted, result.failed) == (8, 0)


def test_the_namespace_is_the_fixed_constant():
    assert str(INSERT_ID_NAMESPACE) == "484eaf79-74b0-542a-b668-8527e62d4363"
    assert INSERT_ID_NAMESPACE == uuid.uuid5(uuid.NAMESPACE_URL, "segmix:mixpanel:insert_id")


def test_the_placeholder_list():
    assert PLACEHOLDER_IDS == {
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


@pytest.mark.parametrize(
    "value",
    ["ord-msg-501", "a", "A" * 36, "3b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b", "-", "nulls", "00"],
)
def test_valid_insert_ids(value):
    assert is_valid_insert_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "A" * 37,
        "ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0",
        "ajs:1",
        "with space",
        "ü",
        "under_score",
        "NULL",
        "Undefined",
        "00000000-0000-0000-0000-000000000000",
        "-1",
        "0",
        None,
        12,
    ],
)
def test_invalid_insert_ids(value):
    assert not is_valid_insert_id(value)


def test_a_valid_mapped_id_passes_through_unchanged():
    assert insert_id_for("ord-msg-501", stored_event_id="9") == "ord-msg-501"
    valid36 = "3b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b"
    assert insert_id_for(valid36, stored_event_id="9") == valid36


def test_spec_examples():
    assert (
        insert_id_for("ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0", stored_event_id="9")
        == "b17abe49-4ea7-51c8-a105-3fdbbca3ec91"
    )
    assert insert_id_for("null", stored_event_id="9") == "e27d70fd-8962-5f9e-aa49-0a9a65ae40dd"
    valid36 = "3b8f5c2e-9d14-4a7b-8e6f-0c1d2e3f4a5b"
    # "0" + a 36-character id is 37 characters: derived
    assert (
        product_insert_id(0, valid36, stored_event_id="9") == "aaeed6c4-1370-59c8-aeeb-b2ef50e6c519"
    )
    assert product_insert_id(0, "ord-msg-501", stored_event_id="9") == "0ord-msg-501"
    assert product_insert_id(1, "ord-msg-501", stored_event_id="9") == "1ord-msg-501"


def test_a_derived_id_is_a_lower_case_uuid5_of_the_base():
    derived = insert_id_for("ajs:xyz", stored_event_id="9")
    assert derived == str(uuid.uuid5(INSERT_ID_NAMESPACE, "ajs:xyz"))
    assert len(derived) == 36 and derived == derived.lower()
    assert is_valid_insert_id(derived)


@pytest.mark.parametrize("mapped", [None, "", 5, {}])
def test_without_a_mapped_id_the_base_is_the_stored_event(mapped):
    assert insert_id_base(mapped, stored_event_id="42") == "segmix-event:42"
    # the base has a ':', so the id is always derived
    assert insert_id_for(mapped, stored_event_id="42") == str(
        uuid.uuid5(INSERT_ID_NAMESPACE, "segmix-event:42")
    )


@pytest.mark.parametrize("messageId", ["\ud83d", "ajs-\udc4d-1", "\ud83d\ude00x\udfff"])
def test_a_message_id_with_an_unpaired_surrogate_still_gets_a_stable_valid_id(messageId):
    # JSON can carry a lone "\\ud83d" escape; uuid.uuid5 cannot encode it (UnicodeEncodeError
    # crashed the record once). The id is the UUIDv5 of the name's surrogatepass bytes.
    derived = insert_id_for(messageId, stored_event_id="9")
    assert is_valid_insert_id(derived)
    assert derived == insert_id_for(messageId, stored_event_id="10")
    namespaced = INSERT_ID_NAMESPACE.bytes + messageId.encode("utf-8", "surrogatepass")
    assert derived == str(uuid.UUID(bytes=hashlib.sha1(namespaced).digest()[:16], version=5))
    assert product_insert_id(0, messageId, stored_event_id="9") != derived


def test_ids_are_stable_across_calls():
    first = [
        insert_id_for("ajs:1", stored_event_id="7"),
        product_insert_id(3, None, stored_event_id="7"),
    ]
    second = [
        insert_id_for("ajs:1", stored_event_id="7"),
        product_insert_id(3, None, stored_event_id="7"),
    ]
    assert first == second


def test_product_ids_of_the_stored_event_fallback():
    assert product_insert_id(2, None, stored_event_id="7") == str(
        uuid.uuid5(INSERT_ID_NAMESPACE, "2segmix-event:7")
    )


# --- time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapped", "expected"),
    [
        (1745340310, 1745340310),  # seconds stay seconds
        (1745340310000, 1745340310000),
        (1745340310.9, 1745340310),  # fractions truncated
        (-5.5, -5),  # toward zero, as JavaScript's TimeClip
        ("2025-02-10T14:03:27.512+01:00", 1739192607512),
        ("20250422", 1745280000000),
    ],
)
def test_a_mapped_time_is_used(mapped, expected):
    assert resolve_time(mapped, received_at_ms=RECEIVED_AT) == (expected, False)


@pytest.mark.parametrize("mapped", [None, 0, "", False, 0.0])
def test_a_falsy_time_falls_back_to_received_at(mapped):
    assert resolve_time(mapped, received_at_ms=RECEIVED_AT) == (RECEIVED_AT, True)


def test_a_date_like_time_that_does_not_convert_falls_back():
    # "5" passes Segment's date-like check (5 seconds) but only V8's own parser reads it.
    assert resolve_time("5", received_at_ms=RECEIVED_AT) == (RECEIVED_AT, True)


def test_out_of_range_numbers_are_not_times():
    assert event_time_ms(8.64e15 + 1) is None
    assert event_time_ms(True) is None
