"""Reading Mixpanel's answers (spec §14.4, §14.5, §15)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from mappings.destinations.mixpanel import responses, wire
from mappings.destinations.mixpanel.responses import RecordOutcome, classify
from mappings.destinations.mixpanel.types import MixpanelSettings, Record

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SETTINGS = MixpanelSettings(project_token="tok", api_secret="sec")


def import_record(insert_id: str, kind: str = "event", *, bare: bool = False) -> Record:
    body = {"event": "e", "properties": {"time": 1, "distinct_id": "u", "$insert_id": insert_id}}
    return Record("import", body, kind, insert_id=None if bare else insert_id)


def import_request(*records: Record, settings: MixpanelSettings = SETTINGS):
    [request] = wire.build_requests(
        list(records), settings, api_url_override=None, user_agent="segmix/test"
    )
    return request


def profile_request(*records: Record):
    [request] = wire.build_requests(
        list(records), SETTINGS, api_url_override=None, user_agent="segmix/test"
    )
    return request


def set_record(n: int) -> Record:
    return Record("engage", {"$token": "tok", "$distinct_id": f"u{n}", "$set": {"a": n}}, "profile")


def add_record(n: int) -> Record:
    body = {"$token": "tok", "$distinct_id": f"u{n}", "$add": {"logins": 1}}
    return Record("engage", body, "increment", idempotent=False)


def outcomes(verdict) -> list[str]:
    return [o.outcome for o in verdict.records]


def purchase_request():
    # event A (1 record), purchase B (order + 2 products), event C: 5 records, 3 Segment events.
    return import_request(
        import_record("a"),
        import_record("b", "order"),
        import_record("0b", "product[0]"),
        import_record("1b", "product[1]"),
        import_record("c"),
    )


# --- /import -----------------------------------------------------------------------------------


def test_200_imports_every_record():
    request = import_request(import_record("a"), import_record("b"))
    body = {"code": 200, "num_records_imported": 2, "status": "OK"}
    verdict = classify(request, 200, {}, json.dumps(body))
    assert verdict.kind == "delivered"
    assert outcomes(verdict) == ["delivered", "delivered"]
    assert verdict.anomalies == ()


def test_200_with_a_wrong_count_is_an_anomaly():
    request = import_request(import_record("a"), import_record("b"))
    verdict = classify(request, 200, {}, b'{"code":200,"num_records_imported":1}')
    assert verdict.kind == "delivered"
    assert verdict.anomalies == ("num_records_imported is 1 but 2 records were delivered",)


def test_strict_zero_silent_drops_are_noted():
    settings = MixpanelSettings(project_token="tok", strict_mode="0")
    request = import_request(import_record("a"), import_record("b"), import_record("c"),
                             settings=settings)  # fmt: skip
    verdict = classify(request, 200, {}, b'{"code":200,"num_records_imported":1}')
    assert verdict.kind == "delivered"
    assert verdict.notes == ("2 records silently dropped (strict mode off)",)
    assert verdict.anomalies == ()


@pytest.mark.parametrize("id_key", ["insert_id", "$insert_id"])
def test_strict_400_fails_only_the_listed_product_record(id_key):
    request = purchase_request()
    body = {
        "code": 400,
        "error": "some data points in the request failed validation",
        "num_records_imported": 4,
        "failed_records": [
            {
                "index": 2,
                id_key: "0b",
                "field": "properties.time",
                "message": "'properties.time' is invalid",
            }
        ],
    }
    verdict = classify(request, 400, {}, json.dumps(body))
    assert verdict.kind == "partial"
    assert outcomes(verdict) == ["delivered", "delivered", "failed", "delivered", "delivered"]
    assert verdict.records[2] == RecordOutcome(
        "failed", field="properties.time", message="'properties.time' is invalid"
    )
    # The failure belongs to purchase B's first product, not to the second Segment event's
    # neighbour (Segment's bug): B is partially delivered, A and C delivered.
    assert request.records[2].kind == "product[0]"
    assert verdict.anomalies == ()


def test_a_mismatched_index_is_attributed_by_insert_id_when_unique():
    request = purchase_request()
    body = {"failed_records": [{"index": 1, "insert_id": "1b", "field": "$insert_id", "message": "m"}],
            "num_records_imported": 4}  # fmt: skip
    verdict = classify(request, 400, {}, json.dumps(body))
    assert outcomes(verdict) == ["delivered", "delivered", "delivered", "failed", "delivered"]
    assert len(verdict.anomalies) == 1 and "attributed to position 3" in verdict.anomalies[0]


def test_a_mismatch_without_a_unique_match_keeps_the_index_and_logs_it():
    request = import_request(import_record("dup"), import_record("dup"), import_record("z"))
    body = {"failed_records": [{"index": 2, "insert_id": "dup", "field": "f", "message": "m"}]}
    verdict = classify(request, 400, {}, json.dumps(body))
    assert outcomes(verdict) == ["delivered", "delivered", "failed"]
    assert "kept the index" in verdict.anomalies[0]


def test_failed_records_are_matched_on_the_body_insert_id_too():
    request = import_request(import_record("a", bare=True), import_record("b", bare=True))
    body = {"failed_records": [{"index": 0, "$insert_id": "b", "field": "f", "message": "m"}],
            "num_records_imported": 1}  # fmt: skip
    verdict = classify(request, 400, {}, json.dumps(body))
    assert outcomes(verdict) == ["delivered", "failed"]


def test_failed_records_on_a_200_are_read_too_and_counts_are_checked():
    request = import_request(import_record("a"), import_record("b"))
    body = {"failed_records": [{"index": 1, "insert_id": "b", "field": "f", "message": "m"}],
            "num_records_imported": 2}  # fmt: skip
    verdict = classify(request, 200, {}, json.dumps(body))
    assert verdict.kind == "partial"
    assert outcomes(verdict) == ["delivered", "failed"]
    assert verdict.anomalies == ("num_records_imported is 2 but 1 records were delivered",)


def test_an_unattributable_entry_is_an_anomaly_not_a_crash():
    request = import_request(import_record("a"))
    body = {"failed_records": [{"index": 7, "insert_id": "nope"}, "junk"]}
    verdict = classify(request, 400, {}, json.dumps(body))
    assert outcomes(verdict) == ["delivered"]
    assert len(verdict.anomalies) == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": "unable to parse body"}',
        b'{"error": "unable to parse body", "failed_records": []}',
    ],
)
def test_400_without_failed_records_fails_everything_and_alerts(body):
    request = import_request(import_record("a"), import_record("b"))
    verdict = classify(request, 400, {}, body)
    assert verdict.kind == "failed"
    assert outcomes(verdict) == ["failed", "failed"]
    assert "unable to parse body" in verdict.records[0].message
    assert verdict.alert and "bug on our side" in verdict.alert
    assert "bug on our side" in verdict.anomalies[0]


# --- status classes ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 410, 429, 460, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retried(status):
    verdict = classify(import_request(import_record("a")), status, {}, b"{}")
    assert verdict.kind == "retry"
    assert outcomes(verdict) == ["retry"]
    assert verdict.retry_after_seconds is None


def test_429_honours_retry_after_in_seconds_and_caps_it():
    request = import_request(import_record("a"))
    assert classify(request, 429, {"Retry-After": "17"}, b"").retry_after_seconds == 17
    assert classify(request, 429, {"retry-after": "3600"}, b"").retry_after_seconds == 600


def test_429_honours_retry_after_as_an_http_date():
    request = import_request(import_record("a"))
    headers = {"Retry-After": "Sun, 01 Jun 2025 12:02:00 GMT"}
    assert classify(request, 429, headers, b"", now=NOW).retry_after_seconds == 120
    past = {"Retry-After": "Sun, 01 Jun 2025 11:00:00 GMT"}
    assert classify(request, 503, past, b"", now=NOW).retry_after_seconds == 0
    assert classify(request, 429, {"Retry-After": "soon"}, b"", now=NOW).retry_after_seconds is None


@pytest.mark.parametrize("error", ["read timeout after 30s", "connection error: refused"])
def test_timeouts_and_connection_errors_are_retried(error):
    verdict = classify(import_request(import_record("a")), None, {}, b"", error=error)
    assert verdict.kind == "retry" and error in verdict.message


def test_413_splits_a_multi_record_request():
    request = import_request(import_record("a"), import_record("b"))
    verdict = classify(request, 413, {}, b'{"error": "request exceeds max limit of 2097152 bytes"}')
    assert verdict.kind == "split"
    assert outcomes(verdict) == ["retry", "retry"]


def test_413_on_a_single_record_fails_it_as_too_large():
    verdict = classify(import_request(import_record("a")), 413, {}, b"")
    assert verdict.kind == "failed"
    assert verdict.records == (RecordOutcome("failed", message="record too large"),)


@pytest.mark.parametrize("status", [401, 403])
def test_credential_errors_pause_the_destination(status):
    verdict = classify(
        import_request(import_record("a")), status, {}, b'{"error": "Invalid credentials"}'
    )
    assert verdict.kind == "pause"
    assert outcomes(verdict) == ["retry"]  # kept queued, no attempt consumed
    assert verdict.alert == "Mixpanel rejected the credentials"


@pytest.mark.parametrize("status", [301, 302, 307, 404, 405, 422, 501, 505])
def test_other_statuses_fail_for_good(status):
    verdict = classify(import_request(import_record("a")), status, {}, b"nope")
    assert verdict.kind == "failed"
    assert verdict.records[0].outcome == "failed"
    assert f"HTTP {status}" in verdict.records[0].message


# --- /engage, /groups, /track ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"status": 1, "error": null}', b"1", "1\n"])
def test_profile_status_1_delivers_everything(body):
    verdict = classify(profile_request(set_record(1), add_record(2)), 200, {}, body)
    assert verdict.kind == "delivered"
    assert outcomes(verdict) == ["delivered", "delivered"]


@pytest.mark.parametrize("body", [b'{"status": 0, "error": "$distinct_id is required"}', b"0"])
def test_profile_status_0_resends_idempotent_records_alone_and_fails_add(body):
    verdict = classify(profile_request(set_record(1), add_record(2), set_record(3)), 200, {}, body)
    assert verdict.kind == "record_failure"
    assert outcomes(verdict) == ["resend_alone", "failed", "resend_alone"]
    if body != b"0":
        assert verdict.records[1].message == "$distinct_id is required"


def test_profile_status_0_on_a_single_record_fails_it_with_mixpanels_text():
    verdict = classify(
        profile_request(set_record(1)), 200, {}, b'{"status": 0, "error": "bad token"}'
    )
    assert verdict.kind == "failed"
    assert verdict.records == (RecordOutcome("failed", message="bad token"),)


def test_track_status_0_follows_the_same_rule():
    identify = Record("track", {"event": "$identify", "properties": {}}, "$identify")
    verdict = classify(profile_request(identify, identify), 200, {}, b"0")
    assert outcomes(verdict) == ["resend_alone", "resend_alone"]


def test_an_unexpected_profile_body_is_delivered_with_an_anomaly():
    verdict = classify(profile_request(set_record(1)), 200, {}, b"<html>ok</html>")
    assert verdict.kind == "delivered" and verdict.anomalies


def test_profile_4xx_and_5xx_use_the_status_table():
    request = profile_request(set_record(1))
    assert classify(request, 400, {}, b'{"error": "x"}').kind == "failed"
    assert classify(request, 503, {}, b"").kind == "retry"
    assert classify(request, 401, {}, b"").kind == "pause"


# --- backoff, window, aggregate ----------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "base"), [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60)])
def test_backoff_doubles_from_2s_to_60s_plus_1_to_5s_of_jitter(attempt, base):
    rng = random.Random(7)
    delays = [responses.backoff_delay(attempt, None, rng) for _ in range(200)]
    assert all(base + 1 <= d <= base + 5 for d in delays)
    assert max(delays) - min(delays) > 2  # jitter is real


def test_backoff_waits_at_least_retry_after_capped_at_10_minutes():
    rng = random.Random(1)
    assert responses.backoff_delay(1, 120, rng) == 120
    assert responses.backoff_delay(1, 7200, rng) == 600
    assert 61 <= responses.backoff_delay(9, 10, rng) <= 65


def test_retry_window():
    first = NOW - timedelta(hours=4)
    assert responses.retry_window_exhausted(first, NOW, 4 * 3600)
    assert not responses.retry_window_exhausted(first + timedelta(seconds=1), NOW, 4 * 3600)


def test_event_status_aggregates_its_records():
    delivered, failed = RecordOutcome("delivered"), RecordOutcome("failed", message="m")
    assert responses.aggregate_event_status([delivered, delivered]) == "delivered"
    assert responses.aggregate_event_status([delivered, failed]) == "partially_delivered"
    assert responses.aggregate_event_status(["failed", "failed"]) == "failed"
    assert responses.aggregate_event_status(["delivered", "retry"]) == "pending"
    with pytest.raises(ValueError):
        responses.aggregate_event_status([])


def test_purchase_with_one_failed_product_is_partially_delivered():
    request = purchase_request()
    body = {"failed_records": [{"index": 3, "insert_id": "1b", "field": "f", "message": "m"}],
            "num_records_imported": 4}  # fmt: skip
    verdict = classify(request, 400, {}, json.dumps(body))
    purchase_b = verdict.records[1:4]
    assert responses.aggregate_event_status(purchase_b) == "partially_delivered"
    assert responses.aggregate_event_status(verdict.records[:1]) == "delivered"
