"""Fields the server sets (spec §5.4), clock-skew correction (§5.5) and ``/v1/forward`` (§2.3).

§8 rows decided here: 38, 39, 40, 41, 42, 43 and 45 (the ids a retry gets; storing one event per
id is the DB layer's), plus the context.ip rules.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from mappings.ingest.normalize import normalize_request
from mappings.ingest.timestamps import format_timestamp
from mappings.jsoncodec import dumps_compact

RECEIVED_AT = datetime(2026, 3, 10, 12, 0, 5, 250999, tzinfo=UTC)  # µs are truncated
RA = "2026-03-10T12:00:05.250Z"


def run(body, route_type=None, source_id="src_1", **options):
    return normalize_request(
        body, route_type=route_type, received_at=RECEIVED_AT, source_id=source_id, **options
    )


def track(**fields):
    return {"type": "track", "event": "E", "userId": "u1", "messageId": "m1", **fields}


def stored(message, **envelope):
    [accepted] = run({"batch": [message], **envelope}).accepted
    return accepted


def iso(moment: datetime) -> str:
    return format_timestamp(moment)


# --- receivedAt, sentAt, originalTimestamp ---------------------------------------------------------


def test_received_at_is_the_request_stamp_in_milliseconds_and_overwrites_the_client():
    result = run({"batch": [track(receivedAt="x"), track(messageId="m2")]})
    assert [a.message["receivedAt"] for a in result.accepted] == [RA, RA]
    assert result.received_at == RA
    assert result.accepted[0].segmix_received_at == RA


def test_received_at_must_be_timezone_aware():
    with pytest.raises(ValueError):
        normalize_request(
            {"batch": []}, route_type=None, received_at=datetime(2026, 1, 1), source_id="s"
        )


def test_original_timestamp_is_the_client_timestamp_verbatim_and_absent_without_one():
    assert stored(track(timestamp="yesterday")).message["originalTimestamp"] == "yesterday"
    assert stored(track(timestamp={"a": 1})).message["originalTimestamp"] == {"a": 1}
    assert "originalTimestamp" not in stored(track(originalTimestamp="2020-01-01")).message


def test_a_message_uses_its_own_valid_sent_at_else_the_envelopes():
    own = "2026-03-10T12:00:04.000Z"
    envelope = "2026-03-10T12:00:00.000Z"
    assert stored(track(sentAt=own), sentAt=envelope).message["sentAt"] == own
    assert stored(track(sentAt="soon"), sentAt=envelope).message["sentAt"] == envelope
    assert stored(track(), sentAt=envelope).message["sentAt"] == envelope
    assert stored(track(sentAt="soon")).message["sentAt"] == "soon"
    assert "sentAt" not in stored(track()).message


def test_on_single_routes_the_message_sent_at_plays_the_envelope_role():
    body = track(timestamp="2026-03-10T11:58:00.000Z", sentAt="2026-03-10T11:58:05.000Z")
    [accepted] = run(body, "track").accepted
    assert accepted.message["timestamp"] == "2026-03-10T12:00:00.250Z"
    assert accepted.message["sentAt"] == "2026-03-10T11:58:05.000Z"


def test_context_library_is_kept_exactly_as_sent():
    library = {"name": "my-lib", "version": {"odd": True}}
    assert stored(track(context={"library": library})).message["context"]["library"] == library
    assert "context" not in stored(track()).message


# --- §5.5 timestamps: rows 38–42 ------------------------------------------------------------------


def test_the_worked_example_subtracts_the_device_clock_error():
    accepted = stored(
        track(timestamp="2026-03-10T11:58:00.000Z"), sentAt="2026-03-10T11:58:05.000Z"
    )
    assert accepted.message["timestamp"] == "2026-03-10T12:00:00.250Z"
    assert accepted.warnings == []


@pytest.mark.parametrize(
    "value", ["yesterday", 1710072000, "2015-2-02T00:30:08", {}, True, "", "2026-03-10T25:00:00Z"]
)
def test_row38_an_invalid_timestamp_falls_back_to_received_at(value):
    accepted = stored(track(timestamp=value), sentAt="2026-03-10T12:00:00Z")
    assert accepted.message["timestamp"] == RA
    assert accepted.message["originalTimestamp"] == value
    assert accepted.warnings == ["invalid_timestamp"]


def test_no_timestamp_means_received_at_without_a_warning():
    accepted = stored(track(timestamp=None))
    assert accepted.message["timestamp"] == RA
    assert accepted.warnings == []


def test_row39_a_device_clock_two_hours_fast_is_corrected_silently():
    fast = RECEIVED_AT + timedelta(hours=2)
    event_time = fast - timedelta(seconds=30)
    accepted = stored(track(timestamp=iso(event_time)), sentAt=iso(fast))
    assert accepted.message["timestamp"] == iso(RECEIVED_AT - timedelta(seconds=30))
    assert accepted.warnings == []


@pytest.mark.parametrize(
    "value",
    [iso(RECEIVED_AT + timedelta(days=3)), "1970-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z"],
)
def test_row40_a_timestamp_out_of_range_is_replaced_by_received_at(value):
    accepted = stored(track(timestamp=value))
    assert accepted.message["timestamp"] == RA
    assert accepted.message["originalTimestamp"] == value
    assert accepted.warnings == ["timestamp_out_of_range"]


def test_the_range_guard_allows_one_hour_ahead():
    ahead = iso(RECEIVED_AT + timedelta(minutes=59))
    assert stored(track(timestamp=ahead)).message["timestamp"] == ahead
    assert stored(track(timestamp="1971-01-01T00:00:00Z")).warnings == []


def test_a_skew_correction_that_leaves_the_range_is_guarded_too():
    accepted = stored(track(timestamp="2026-03-10T11:00:00Z"), sentAt="2026-03-08T11:00:00Z")
    assert accepted.message["timestamp"] == RA
    assert accepted.warnings == ["timestamp_out_of_range"]


def test_row41_an_invalid_sent_at_disables_the_correction():
    accepted = stored(track(timestamp="2026-03-10T11:58:00Z", sentAt="soon"))
    assert accepted.message["timestamp"] == "2026-03-10T11:58:00.000Z"
    assert accepted.message["sentAt"] == "soon"
    assert accepted.warnings == ["invalid_sent_at"]


def test_row42_a_historical_timestamp_keeps_its_date():
    accepted = stored(
        track(timestamp="2024-01-15T09:30:00.000Z"),
        sentAt=iso(RECEIVED_AT - timedelta(seconds=2, milliseconds=250)),
    )
    assert accepted.message["timestamp"] == "2024-01-15T09:30:02.250Z"
    assert accepted.warnings == []


# --- messageId: rows 43, 45 --------------------------------------------------------------------------


def test_row43_a_retried_batch_keeps_its_message_ids_and_hashes():
    batch = [track(messageId="a"), track(messageId=None, timestamp="2026-03-10T11:00:00Z")]
    first = run({"batch": batch, "sentAt": "2026-03-10T12:00:00Z"}).accepted
    retry = run({"batch": batch, "sentAt": "2026-03-10T12:00:04Z"}).accepted
    assert [a.dedup_hash for a in first] == [a.dedup_hash for a in retry]


@pytest.mark.parametrize("value", [None, "", "   "])
def test_row45_a_timestamped_message_without_id_gets_a_stable_one(value):
    message = track(messageId=value, timestamp="2026-03-10T11:58:00Z", writeKey="k")
    accepted = stored({**message, "sentAt": "2026-03-10T11:58:01Z"})
    again = stored({**message, "sentAt": "2026-03-10T11:59:09Z"}, sentAt="2026-03-10T11:59:09Z")
    content = {k: v for k, v in message.items() if k != "writeKey"}
    canonical = dumps_compact(["src_1", "track", content], sort_keys=True)
    assert accepted.message_id == "segmix-" + hashlib.sha256(canonical).hexdigest()[:32]
    assert accepted.message["messageId"] == accepted.message_id == again.message_id
    assert accepted.message_id_assigned
    assert "message_id_assigned" in accepted.warnings
    assert accepted.dedup_hash == hashlib.sha256(accepted.message_id.encode()).hexdigest()


def test_assigned_ids_differ_between_sources_and_between_contents():
    message = track(messageId=None, timestamp="2026-03-10T11:58:00Z")
    [a] = run({"batch": [message]}).accepted
    [b] = run({"batch": [message]}, source_id="src_2").accepted
    [c] = run({"batch": [{**message, "event": "F"}]}).accepted
    assert len({a.message_id, b.message_id, c.message_id}) == 3


def test_row45_without_id_or_timestamp_two_identical_calls_are_two_events():
    message = track(messageId=None)
    first, second = run({"batch": [message, message]}).accepted
    assert re.fullmatch(r"segmix-[0-9a-f]{32}", first.message_id)
    assert first.message_id != second.message_id


def test_an_integer_message_id_is_coerced():
    accepted = stored(track(messageId=42))
    assert (accepted.message_id, accepted.warnings) == ("42", ["coerced_id"])


# --- context.ip ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "filled"),
    [
        pytest.param({"library": {"name": "analytics.js"}}, True, id="browser"),
        pytest.param({"library": {"name": "analytics-kotlin"}}, True, id="kotlin"),
        pytest.param({"library": {"name": "analytics-react-native-x"}}, True, id="rn-prefix"),
        pytest.param({"library": {"name": "@segment/analytics-react-native"}}, True, id="rn"),
        pytest.param({"library": {"name": "analytics-python"}, "direct": True}, True, id="direct"),
        pytest.param({"library": {"name": "analytics-python"}}, False, id="server-library"),
        pytest.param({"library": {"name": "analytics.js"}, "ip": "9.9.9.9"}, False, id="ip-set"),
        pytest.param({"direct": "true"}, False, id="direct-not-boolean"),
        pytest.param(None, False, id="no-context"),
    ],
)
def test_context_ip_is_filled_only_for_client_side_events(context, filled):
    message = track(context=context) if context is not None else track()
    accepted = run({"batch": [message]}, client_ip="203.0.113.7").accepted[0]
    ip = (accepted.message.get("context") or {}).get("ip")
    assert (ip == "203.0.113.7") is filled
    assert accepted.received == message  # filled on the stored copy only


def test_context_ip_is_left_alone_without_a_client_ip():
    message = track(context={"library": {"name": "analytics.js"}})
    assert "ip" not in stored(message).message["context"]


# --- /v1/forward -------------------------------------------------------------------------------------

SEGMENT_PROCESSED = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u1",
    "messageId": "ajs-next-1",
    "timestamp": "2026-03-09T10:00:00.123Z",
    "originalTimestamp": "2026-03-09T10:00:01.000Z",
    "sentAt": "2026-03-09T10:00:01.100Z",
    "receivedAt": "2026-03-09T10:00:00.200Z",
    "context": {"library": {"name": "analytics.js"}},
    "version": 2,
    "channel": "client",
    "projectId": "seg-proj",
    "writeKey": "segments-own-key",
}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(SEGMENT_PROCESSED, id="single"),
        pytest.param([SEGMENT_PROCESSED], id="array"),
        pytest.param({"batch": [SEGMENT_PROCESSED]}, id="envelope"),
    ],
)
def test_forward_keeps_segments_times_and_ids_as_sent(body):
    [accepted] = run(body, is_forward=True, client_ip="198.51.100.1").accepted
    expected = {k: v for k, v in SEGMENT_PROCESSED.items() if k != "writeKey"}
    assert accepted.message == expected  # no ip from Segment's servers, nothing re-corrected
    assert accepted.segmix_received_at == RA
    assert not accepted.message_id_assigned and accepted.warnings == []


def test_forward_fills_what_segment_left_missing_or_unusable():
    message = {"type": "track", "event": "E", "userId": "u1", "timestamp": "yesterday"}
    [accepted] = run([message], is_forward=True).accepted
    assert accepted.message["timestamp"] == accepted.message["receivedAt"] == RA
    assert accepted.message["originalTimestamp"] == "yesterday"
    assert accepted.message_id_assigned
    assert accepted.warnings == ["message_id_assigned", "invalid_timestamp"]


def test_forwarded_messages_must_carry_a_type():
    result = run([{"event": "E", "userId": "u1"}], is_forward=True)
    assert [(r.index, r.code) for r in result.rejected] == [(0, "invalid_type")]
