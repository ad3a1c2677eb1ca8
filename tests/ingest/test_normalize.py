"""Envelope, limits and per-message validation: spec §4.5, §5.1–§5.3, §5.6 (stored part), §5.7.

Where each §8 row is tested in this pure layer:
- here: 2, 5, 6, 8 (warnings pinned on their message), 11, 12, 28–37, 44 (same dedup hash),
  46, 47–48 (``integrations`` stored verbatim, then ``mappings.engine.integrations`` decides),
  49, 50, 55, plus the §5.8 example and the analytics-python vs Node shapes;
- ``test_normalize_server_fields.py``: 38–43 and 45 (timestamps, messageIds, forward);
- ``test_decode.py``: 1, 3–10, 16, 17, 50; ``test_decompress.py``: 13, 14 (decoding), 18–20;
- ``test_auth.py``: 23, 24 (undecodable Basic header), 26, 27.

Rows that belong to the HTTP/DB layer built on top: 14 (the 508 KB batch is stored), 15
(Content-Length, body not read), 21 (Content-Type ignored: nothing here reads it), 22 (chunked
bodies), 23–27 (key lookup, disabled sources, answering 401), 43–44 (one stored event and one
delivery per dedup hash, duplicate counts), 47–48 (delivery rows ``filtered``), 51 (routes, no
redirects), 52 (rate limits), 53 (storage down), 54 (Redis down), and for every row: the JSON
reply, nothing stored on a 4xx, and the worker surviving.
"""

from __future__ import annotations

import hashlib
import json

import orjson
import pytest

from mappings.ingest.envelope import ROUTE_TYPES
from mappings.ingest.errors import IngestError
from mappings.jsoncodec import dumps_compact
from tests.ingest.normalize_support import run, run_bytes, track

# --- §5.8 worked example, reproduced exactly --------------------------------------------------------

EXAMPLE_BODY = b"""{"batch": [
  {"type": "track", "event": "Plan Upgraded", "userId": "cust-8812", "anonymousId": null,
   "properties": {"plan": "team", "seats": 12}, "integrations": {},
   "timestamp": "2026-03-10T11:58:00.000+00:00", "messageId": "5d0c7e2a-91f4-4e63-b0d8-6a2f1c9e4b70",
   "context": {"library": {"name": "analytics-python", "version": "2.4.0"}}},
  {"type": "identify", "traits": {"email": "ada@example.org"}}],
 "context": {"locale": "en-GB"}, "sentAt": "2026-03-10T11:58:05.000+00:00", "writeKey": "wk_demo_key"}"""

EXAMPLE_STORED = b"""{"type": "track", "event": "Plan Upgraded", "userId": "cust-8812",
 "properties": {"plan": "team", "seats": 12}, "integrations": {},
 "context": {"locale": "en-GB", "library": {"name": "analytics-python", "version": "2.4.0"}},
 "messageId": "5d0c7e2a-91f4-4e63-b0d8-6a2f1c9e4b70",
 "originalTimestamp": "2026-03-10T11:58:00.000+00:00", "sentAt": "2026-03-10T11:58:05.000+00:00",
 "receivedAt": "2026-03-10T12:00:05.250Z", "timestamp": "2026-03-10T12:00:00.250Z"}"""


def test_the_spec_example_is_reproduced_exactly():
    result = run_bytes(EXAMPLE_BODY)

    assert result.response_body() == {
        "success": True,
        "rejectedCount": 1,
        "rejected": [
            {
                "index": 1,
                "messageId": None,
                "code": "no_user_anon_id",
                "message": "userId or anonymousId is required",
            }
        ],
    }
    [event] = result.accepted
    # Same keys, values and key order as the spec's stored JSON.
    assert orjson.dumps(event.message) == orjson.dumps(json.loads(EXAMPLE_STORED))
    assert event.message_id == "5d0c7e2a-91f4-4e63-b0d8-6a2f1c9e4b70"
    assert not event.message_id_assigned
    assert event.dedup_hash == hashlib.sha256(event.message_id.encode()).hexdigest()
    assert event.warnings == []
    assert event.received == json.loads(EXAMPLE_BODY)["batch"][0]
    assert json.loads(result.rejected[0].raw) == json.loads(EXAMPLE_BODY)["batch"][1]


# --- row 2, 37: the shape of the body ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "route_type", "is_forward"),
    [
        pytest.param([track()], None, False, id="row2-top-level-array"),
        pytest.param("track", None, False, id="row2-top-level-string"),
        pytest.param(42, None, False, id="row2-top-level-number"),
        pytest.param(None, None, False, id="top-level-null"),
        pytest.param({"messages": [track()]}, None, False, id="row2-batch-missing"),
        pytest.param({"batch": {"0": track()}}, None, False, id="row2-batch-object"),
        pytest.param({"batch": None}, None, False, id="row2-batch-null"),
        pytest.param([track()], "track", False, id="single-route-array"),
        pytest.param("x", "track", False, id="single-route-string"),
        pytest.param("x", None, True, id="forward-string"),
        pytest.param({"batch": "x"}, None, True, id="forward-envelope-batch-not-array"),
        pytest.param({"batch": [], "context": "x"}, None, False, id="envelope-context-not-object"),
        pytest.param({"batch": [], "integrations": []}, None, False, id="envelope-integrations"),
    ],
)
def test_row2_a_wrong_shape_is_invalid_body(body, route_type, is_forward):
    with pytest.raises(IngestError) as error:
        run(body, route_type, is_forward=is_forward)
    assert (error.value.status, error.value.code) == (400, "invalid_body")


def test_row37_an_empty_batch_succeeds_with_nothing_to_store():
    result = run({"batch": [], "writeKey": "k"})
    assert (result.accepted, result.rejected) == ([], [])
    assert result.response_body() == {"success": True}


def test_route_types_follow_the_url_table():
    assert {k: v for k, v in ROUTE_TYPES.items() if v} == {
        "track": "track", "t": "track", "identify": "identify", "i": "identify",
        "page": "page", "p": "page", "screen": "screen", "s": "screen",
        "group": "group", "g": "group", "alias": "alias", "a": "alias",
    }  # fmt: skip
    assert [k for k, v in ROUTE_TYPES.items() if v is None] == ["batch", "b", "import"]


def test_on_a_single_route_the_route_decides_the_type():
    result = run({"type": "identify", "event": "Clicked", "userId": "u1"}, "track")
    assert result.accepted[0].type == "track"
    assert result.accepted[0].message["type"] == "track"
    assert run({"userId": "u1", "traits": {}}, "identify").accepted[0].message["type"] == "identify"


def test_batch_types_are_case_insensitive_and_stored_lower_case():
    assert run({"batch": [track(type="TRACK")]}).accepted[0].message["type"] == "track"


# --- §5.1 envelope ----------------------------------------------------------------------------------


def test_envelope_context_and_integrations_are_deep_merged_with_the_message_winning():
    body = {
        "batch": [
            track(
                context={"app": {"version": "2"}, "locale": "fr-FR"},
                integrations={"Amplitude": {"x": 1}},
            ),
            track(),
        ],
        "context": {"app": {"name": "shop", "version": "1"}, "locale": "en-GB"},
        "integrations": {"All": True, "Amplitude": {"y": 2}},
        "other": "ignored",
    }
    first, second = run(body).accepted
    assert first.message["context"] == {"app": {"name": "shop", "version": "2"}, "locale": "fr-FR"}
    assert first.message["integrations"] == {"All": True, "Amplitude": {"y": 2, "x": 1}}
    assert second.message["context"] == body["context"]
    assert second.message["integrations"] == body["integrations"]
    assert "other" not in first.message
    assert "context" not in second.received  # as received means before the merge


def test_unknown_top_level_keys_of_a_message_are_kept():
    message = track(_metadata={"bundled": []}, version=2, channel="server", projectId="p1")
    stored = run({"batch": [message]}).accepted[0].message
    assert stored["_metadata"] == {"bundled": []}
    assert (stored["version"], stored["channel"], stored["projectId"]) == (2, "server", "p1")


# --- §4.5 limits: rows 11, 12, 36 --------------------------------------------------------------------


def message_of_size(size: int, **extra):
    message = track(properties={"pad": ""}, **extra)
    overhead = len(dumps_compact({k: v for k, v in message.items() if k != "writeKey"}))
    message["properties"]["pad"] = "x" * (size - overhead)
    return message


def test_row11_a_30000_character_string_is_stored_in_full():
    text = "y" * 30_000
    assert run({"batch": [track(properties={"t": text})]}).accepted[0].message["properties"] == {
        "t": text
    }


def test_row12_one_40_kib_message_fails_the_whole_batch_with_its_index():
    messages = [track() for _ in range(50)]
    messages[17] = message_of_size(40 * 1024)
    with pytest.raises(IngestError) as error:
        run({"batch": messages})
    assert (error.value.status, error.value.code, error.value.index) == (
        400,
        "message_too_large",
        17,
    )
    assert error.value.response_body()["index"] == 17


def test_the_message_limit_is_32768_compact_bytes_without_write_key():
    exact = message_of_size(32_768, writeKey="k" * 500)
    assert run({"batch": [exact]}).accepted[0].size == 32_768
    with pytest.raises(IngestError):
        run({"batch": [message_of_size(32_769)]})


def test_the_message_limit_measures_parsed_text_not_python_escapes():
    message = track(properties={"t": "\u00e9" * 15_000})  # 90,000 bytes as \u00e9 escapes
    data = json.dumps({"batch": [message]}).encode()
    assert len(data) > 90_000
    assert run_bytes(data).accepted[0].size < 32_768


def test_row36_messages_beyond_2500_are_rejected_one_by_one():
    result = run({"batch": [track(messageId=f"m{i}") for i in range(2600)]})
    assert len(result.accepted) == 2500
    assert [r.index for r in result.rejected] == list(range(2500, 2600))
    assert {r.code for r in result.rejected} == {"too_many_messages"}
    assert result.rejected[0].message_id == "m2500"
    body = result.response_body()
    assert body["rejectedCount"] == 100 and len(body["rejected"]) == 100


def test_the_reply_lists_at_most_100_rejects():
    body = run({"batch": [{"type": "track"}] * 150}).response_body()
    assert body["rejectedCount"] == 150
    assert len(body["rejected"]) == 100


def test_forward_allows_4000_messages():
    result = run([track(messageId=f"m{i}") for i in range(4001)], is_forward=True)
    assert len(result.accepted) == 4000
    assert [(r.index, r.code) for r in result.rejected] == [(4000, "too_many_messages")]


# --- row 28: writeKey ----------------------------------------------------------------------------------


def test_row28_write_keys_are_stripped_at_every_level():
    message = track(
        writeKey="k1",
        context={"writeKey": "k2", "library": {"name": "analytics.js", "writeKey": "k3"}},
        properties={"items": [{"writeKey": "k4", "sku": "a"}]},
    )
    bad = {"type": "track", "writeKey": "k5", "properties": {"writeKey": "k6"}}
    result = run({"batch": [message, bad], "writeKey": "k0", "context": {"writeKey": "k7"}})
    accepted, rejected = result.accepted[0], result.rejected[0]
    for stored in (dumps_compact(accepted.message), dumps_compact(accepted.received)):
        assert b"writeKey" not in stored
    assert b"writeKey" not in rejected.raw.encode()
    assert accepted.message["properties"] == {"items": [{"sku": "a"}]}
    assert message["writeKey"] == "k1"  # the parsed body itself is left alone


def test_a_single_message_loses_its_write_key_but_keeps_its_metadata():
    body = track(writeKey="wk", _metadata={"bundled": ["Segment.io"]})
    accepted = run(body, "track").accepted[0]
    assert "writeKey" not in accepted.received and "writeKey" not in accepted.message
    assert accepted.received["_metadata"] == {"bundled": ["Segment.io"]}
