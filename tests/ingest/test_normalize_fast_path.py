"""The one-pass path for well-formed messages gives what the full rules give (spec §5.2–§5.5).

``_Normalizer.message`` tries ``_plain`` first and falls back to ``_checked``, which applies
every rule in order. Here both run on the same messages, thousands of them mutated at random
from realistic shapes, and must agree on the accepted message (key order included), its
warnings and ids, or on the reject.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from mappings.ingest import normalize
from mappings.ingest.envelope import Envelope
from mappings.ingest.fields import Reject
from mappings.ingest.normalize import _Normalizer
from mappings.jsoncodec import dumps_compact
from tests.ingest.normalize_support import RECEIVED_AT

SHAPES: list[dict[str, Any]] = [
    {  # analytics-python: nulls, +00:00 stamps
        "integrations": {},
        "anonymousId": None,
        "properties": {"plan": "team", "seats": 12},
        "timestamp": "2026-03-10T11:58:00.000+00:00",
        "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
        "userId": "cust-8812",
        "type": "track",
        "event": "Plan Upgraded",
        "messageId": "5d0c7e2a-91f4-4e63-b0d8-6a2f1c9e4b70",
    },
    {  # analytics.js: Z stamps, _metadata, a client-side library (context.ip is filled)
        "type": "page",
        "name": "Reports",
        "properties": {"path": "/reports"},
        "anonymousId": "a-1",
        "context": {"library": {"name": "analytics.js", "version": "next-1.70.0"}},
        "timestamp": "2026-03-10T11:58:00.512Z",
        "messageId": "ajs-next-1",
        "_metadata": {"bundled": ["Segment.io"]},
    },
    {"type": "identify", "userId": "u-1", "traits": {"email": "ada@example.org"}},
    {"type": "group", "userId": "u-1", "groupId": "g-1", "traits": {"name": "Northwind"}},
    {"type": "alias", "previousId": "a-1", "userId": "u-1", "messageId": "m-alias"},
    {"type": "screen", "anonymousId": "a-2", "name": None, "category": None, "properties": {}},
]
FIELDS = [
    "type",
    "userId",
    "anonymousId",
    "groupId",
    "previousId",
    "messageId",
    "event",
    "name",
    "category",
    "properties",
    "traits",
    "context",
    "integrations",
    "timestamp",
    "sentAt",
    "receivedAt",
    "originalTimestamp",
]
VALUES: list[Any] = [
    None,
    "",
    "  ",
    "x",
    "Track",
    "track",
    "alias",
    "undefined",
    " NULL ",
    "00000000-0000-0000-0000-000000000000",
    "0",
    12345,
    1.5,
    True,
    {},
    {"direct": True},
    {"ip": "10.0.0.1"},
    {"library": {"name": "analytics-ios"}},
    {"Mixpanel": False},
    [],
    "2026-03-10T11:58:00.000Z",
    "2026-03-10T13:58:00+0200",
    "2026-02-30T11:58:00.000Z",
    "yesterday",
    1710072000,
]
ENVELOPES = [
    Envelope([], "batch"),
    Envelope(
        [],
        "batch",
        {"locale": "en-GB", "library": {"name": "x"}},
        {"All": False},
        "2026-03-10T11:58:05.000+00:00",
    ),
    Envelope([], "batch", None, None, "soon"),
]


def outcome(call: Any) -> tuple[Any, ...]:
    try:
        m = call()
    except Reject as reject:
        return ("rejected", reject.code, reject.message, reject.field)
    return (
        "accepted",
        m.index,
        m.type,
        list(m.message.items()),  # key order matters: SQLite stores the text as built
        m.message_id,
        m.message_id_assigned,
        m.dedup_hash,
        m.warnings,
        m.size,
        m.received_json,
    )


def both(normalizer: _Normalizer, message: dict[str, Any]) -> tuple[Any, Any]:
    raw = dumps_compact(message)
    return (
        outcome(lambda: normalizer.message(3, message, raw, ())),
        outcome(lambda: normalizer._checked(3, message, raw, ())),
    )


@pytest.fixture(autouse=True)
def fixed_random_ids(monkeypatch):
    monkeypatch.setattr(normalize.uuid, "uuid4", lambda: uuid.UUID(int=7))


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("route_type", [None, "track", "alias"])
def test_both_paths_agree_on_mutated_messages(envelope, route_type):
    rng = random.Random(f"{route_type}-{envelope.sent_at}")
    normalizer = _Normalizer(envelope, route_type, RECEIVED_AT, "src_1", False, "203.0.113.9")
    for _ in range(1500):
        message = dict(rng.choice(SHAPES))
        for _ in range(rng.randint(0, 3)):
            field = rng.choice(FIELDS)
            if rng.random() < 0.2:
                message.pop(field, None)
            else:
                message[field] = rng.choice(VALUES)
        fast, checked = both(normalizer, message)
        assert fast == checked, message


@pytest.mark.parametrize("message", SHAPES)
def test_well_formed_messages_take_the_one_pass_path(message):
    normalizer = _Normalizer(ENVELOPES[1], None, RECEIVED_AT, "src_1", False, "203.0.113.9")
    assert normalizer._plain(message) is not None
    fast, checked = both(normalizer, message)
    assert fast == checked and fast[0] == "accepted"
