"""Spec §8 "Bad inputs and expected behaviour", over HTTP: status, JSON code, headers, and exactly
what was stored.

Rows covered here: 1–4, 7, 9, 12–21, 23–28, 36, 37, 43–45, 47, 48, 51–55. Row 22 (chunked
bodies, also through a real gunicorn) and the CORS/forward/settings cases are in
``test_views.py``; the pure decisions behind every row are in ``test_decode.py`` and
``test_normalize*.py``.
"""

from __future__ import annotations

import base64
import gzip
import json
import time

import orjson
import pytest
from django.db import OperationalError

from mappings.delivery.schedule import schedule_flush as real_schedule_flush
from mappings.ingest import fields, ratelimit, views, writes
from mappings.models import Delivery, Event, IngestRequest, RejectedMessage
from tests.ingest.http_support import (
    assert_error,
    basic,
    batch,
    counts,
    isolated_ingest,  # noqa: F401 - fixture
    make_destination,
    make_source,
    nothing_stored_but_log,
    post,
    track,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    source = make_source()
    make_destination(source)
    return source


# --- rows 1–4, 7, 9, 13, 16–20: the body can't be used → 400, nothing stored --------------------


@pytest.mark.parametrize(
    ("row", "body", "code"),
    [
        (1, b'{"batch": [', "invalid_json"),
        (1, b"", "invalid_json"),
        (1, b'{"batch": []} trailing', "invalid_json"),
        (1, b'{"batch": [],}', "invalid_json"),
        (2, b"[]", "invalid_body"),
        (2, b'"batch"', "invalid_body"),
        (2, b'{"batch": {}}', "invalid_body"),
        (2, b"{}", "invalid_body"),
        (3, b'{"batch": [], "x": "\xff"}', "invalid_json"),
        (3, b'{"batch": [], "x": "\xc0\xaf"}', "invalid_json"),
        (3, b'{"batch": [], "x": "\xed\xa0\x80"}', "invalid_json"),
        (4, b'\xef\xbb\xbf{"batch": []}', "invalid_json"),
        (7, b'{"batch": [], "x": "a\x00b"}', "invalid_json"),
        (7, b'{"batch": [], "x": "a\nb"}', "invalid_json"),
        (9, b'{"batch": [], "x": ' + b"7" * 5000 + b"}", "invalid_json"),
        (13, b'{"batch": [], "x": "' + b"y" * 600_000 + b'"}', "payload_too_large"),
        (16, b"[" * 10_000 + b"]" * 10_000, "nesting_too_deep"),
    ],
)
def test_unusable_bodies_are_400_and_store_nothing(client, source, row, body, code):
    response = post(client, "/v1/batch", body, key=source.write_key)
    assert_error(response, 400, code)
    nothing_stored_but_log(400, code)
    row_log = IngestRequest.objects.get()
    assert row_log.source_id == source.id and row_log.wire_bytes == len(body)


def test_a_250000_deep_body_is_refused_fast(client, source):
    body = b"[" * 250_000 + b"]" * 250_000
    post(client, "/v1/batch", b"{}", key=source.write_key)  # warm up the URL resolver etc.
    started = time.perf_counter()
    response = post(client, "/v1/batch", body, key=source.write_key)
    elapsed = time.perf_counter() - started
    assert_error(response, 400, "nesting_too_deep")
    assert elapsed < 0.25  # §8 row 16 wants < 50 ms of work; this includes the test client


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_row_17_depth_64_passes_and_65_does_not(client, source):
    # root object, batch array, message, properties: 4 levels, then the properties' own.
    ok = post(client, "/v1/batch", batch(track(1, properties=nested(61))), key=source.write_key)
    assert ok.status_code == 200
    deep = post(client, "/v1/batch", batch(track(2, properties=nested(62))), key=source.write_key)
    assert_error(deep, 400, "nesting_too_deep")
    assert Event.objects.count() == 1


def test_row_18_a_gzip_bomb_is_payload_too_large(client, source):
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}", compresslevel=9)
    assert len(bomb) < 100_000
    assert_error(post(client, "/v1/batch", bomb, key=source.write_key), 400, "payload_too_large")
    assert counts()["events"] == 0


@pytest.mark.parametrize(
    ("encoding", "body", "code"),
    [
        ("gzip", batch(track(1)), "invalid_encoding"),
        ("gzip", gzip.compress(batch(track(1)))[:-9], "invalid_encoding"),
        ("br", batch(track(1)), "unsupported_encoding"),
        ("gzip, br", batch(track(1)), "unsupported_encoding"),
    ],
)
def test_rows_19_20_bad_encodings(client, source, encoding, body, code):
    response = post(
        client, "/v1/batch", body, key=source.write_key, **{"Content-Encoding": encoding}
    )
    assert_error(response, 400, code)
    nothing_stored_but_log(400, code)


# --- row 12: one message over 32 KiB fails the whole batch --------------------------------------


def test_row_12_one_oversized_message_refuses_all_50(client, source):
    messages = [track(n) for n in range(50)]
    messages[17]["properties"] = {"blob": "x" * 40 * 1024}
    response = post(client, "/v1/batch", batch(*messages), key=source.write_key)
    body = assert_error(response, 400, "message_too_large")
    assert body["index"] == 17
    nothing_stored_but_log(400, "message_too_large")


# --- row 14: analytics-python's largest batches ---------------------------------------------------


def test_row_14_a_508_kb_python_batch_is_stored_whole(client, source):
    # analytics-python: ensure_ascii escapes, ", " separators, up to ~508 KB per batch.
    messages: list[dict] = []
    body = b""
    while len(body) < 508_000:
        messages.append(track(len(messages), properties={"text": "café ☕ " * 40}))
        body = json.dumps({"batch": messages, "sentAt": "2026-03-10T11:58:05.000Z"}).encode()
    assert 508_000 <= len(body) <= 524_288
    response = post(client, "/v1/batch", body, key=source.write_key, gzipped=True)
    assert response.status_code == 200, response.content
    assert counts()["events"] == len(messages) == counts()["deliveries"]
    assert Event.objects.get(message_id="msg-0").message["properties"]["text"].startswith("café ☕")


# --- row 15: the wire cap, before reading -------------------------------------------------------


def test_row_15_an_oversized_content_length_is_refused_unread(client, source):
    # The test client's input holds 2 bytes: reading 5,000,000 would fail loudly, not 413.
    response = post(client, "/v1/batch", b"{}", key=source.write_key, CONTENT_LENGTH="5000000")
    assert_error(response, 413, "request_too_large")
    nothing_stored_but_log(413, "request_too_large")
    assert IngestRequest.objects.get().wire_bytes == 0


# --- row 21: Content-Type is ignored -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "", "application/x-www-form-urlencoded", "application/json; charset=utf-8"],
)
def test_row_21_any_content_type_is_parsed_as_json(client, source, content_type):
    response = post(
        client, "/v1/batch", batch(track(1)), key=source.write_key, content_type=content_type
    )
    assert response.status_code == 200
    assert Event.objects.count() == 1


# --- rows 23–28: write keys ----------------------------------------------------------------------


def test_row_23_no_key_anywhere(client, source):
    assert_error(post(client, "/v1/batch", batch(track(1))), 401, "missing_write_key")
    nothing_stored_but_log(401, "missing_write_key")


@pytest.mark.parametrize(
    "how", ["header", "body", "undecodable header", "non-string body key", "single route body"]
)
def test_row_24_unknown_keys_and_bad_headers(client, source, how):
    path, body, headers = "/v1/batch", batch(track(1)), {}
    if how == "header":
        headers["Authorization"] = basic("wk_unknown")
    elif how == "body":
        body = batch(track(1), writeKey="wk_unknown")
    elif how == "undecodable header":
        headers["Authorization"] = "Basic %%%not-base64"
    elif how == "non-string body key":
        body = batch(track(1), writeKey=42)
    else:
        path, body = "/v1/track", {**track(1), "writeKey": "wk_unknown"}
    assert_error(post(client, path, body, **headers), 401, "invalid_write_key")
    nothing_stored_but_log(401, "invalid_write_key")
    assert IngestRequest.objects.get().body_excerpt == ""  # nothing kept from unknown senders


@pytest.mark.parametrize("where", ["header", "body"])
def test_row_25_a_disabled_source(client, source, where):
    source.enabled = False
    source.save()
    if where == "header":
        response = post(client, "/v1/batch", batch(track(1)), key=source.write_key)
    else:
        response = post(client, "/v1/batch", batch(track(1), writeKey=source.write_key))
    assert_error(response, 401, "source_disabled")
    nothing_stored_but_log(401, "source_disabled")
    assert IngestRequest.objects.get().source_id is None


def test_row_26_header_and_body_keys_differ(client, source):
    other = make_source("other")
    for body_key in ("wk_unknown", other.write_key):
        body = batch(track(1), writeKey=body_key)
        assert_error(
            post(client, "/v1/batch", body, key=source.write_key), 401, "write_key_mismatch"
        )
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 2}


def test_row_27_legacy_basic_without_colon_and_bearer_with_body_key(client, source):
    legacy = "Basic " + base64.b64encode(source.write_key.encode()).decode().rstrip("=")
    first = post(client, "/v1/batch", batch(track(1)), Authorization=legacy)
    second = post(
        client, "/v1/batch", batch(track(2), writeKey=source.write_key), Authorization="Bearer eyJx"
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert Event.objects.count() == 2


def test_row_28_write_keys_inside_messages_are_stripped(client, source):
    message = track(1, writeKey="inner", context={"writeKey": "deeper", "locale": "en"})
    response = post(
        client, "/v1/batch", batch(message, writeKey=source.write_key), key=source.write_key
    )
    assert response.status_code == 200
    event = Event.objects.get()
    assert b"writeKey" not in orjson.dumps([event.message, event.raw])


# --- rows 36, 37: batch sizes --------------------------------------------------------------------


def test_row_36_messages_past_2500_are_rejected_one_by_one(client, source):
    messages = [
        {"type": "track", "event": "E", "userId": "u", "messageId": f"m{n}"} for n in range(2600)
    ]
    response = post(client, "/v1/batch", batch(*messages), key=source.write_key)
    assert response.status_code == 200
    body = response.json()
    assert body["rejectedCount"] == 100 and len(body["rejected"]) == 100
    assert body["rejected"][0] == {
        "index": 2500,
        "messageId": "m2500",
        "code": "too_many_messages",
        "message": "a batch holds at most 2500 messages",
    }
    assert counts() == {"events": 2500, "deliveries": 2500, "rejects": 100, "requests": 1}
    assert set(RejectedMessage.objects.values_list("code", flat=True)) == {"too_many_messages"}


def test_row_37_an_empty_batch_stores_nothing(client, source):
    response = post(client, "/v1/batch", batch(), key=source.write_key)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 1}


# --- rows 43–45: deduplication -------------------------------------------------------------------


def test_row_43_a_resent_batch_is_one_event_with_one_delivery(client, source):
    second_destination = make_destination(source, name="staging")
    body = batch(track(1), track(2))
    first = post(client, "/v1/batch", body, key=source.write_key)
    retry = post(client, "/v1/batch", body, key=source.write_key, **{"X-Retry-Count": "1"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert Event.objects.count() == 2
    assert Delivery.objects.count() == 4  # one per event and destination
    assert Delivery.objects.filter(destination=second_destination).count() == 2
    assert set(Event.objects.values_list("duplicate_count", flat=True)) == {1}
    assert IngestRequest.objects.get(retry_count=1).duplicates == 2


def test_row_44_the_first_occurrence_of_an_id_is_kept(client, source):
    body = batch(track(1), track(1, event="Other"), track(1))
    assert post(client, "/v1/batch", body, key=source.write_key).status_code == 200
    event = Event.objects.get()
    assert (event.message["event"], event.duplicate_count) == ("Event 1", 2)
    assert Delivery.objects.count() == 1


def test_row_45_missing_ids_are_assigned_and_timestamped_retries_dedupe(client, source):
    timed = {k: v for k, v in track(1).items() if k != "messageId"}
    untimed = {"type": "track", "event": "E", "userId": "u", "messageId": ""}
    for sent_at in ("2026-03-10T11:58:05.000Z", "2026-03-10T11:59:05.000Z"):
        body = batch(timed, untimed, sentAt=sent_at)
        assert post(client, "/v1/batch", body, key=source.write_key).status_code == 200
    assigned = list(Event.objects.order_by("id").values_list("message_id", "message_id_assigned"))
    assert len(assigned) == 3  # the timestamped one once, the untimed one twice
    assert all(mid.startswith("segmix-") and flag for mid, flag in assigned)


# --- rows 47, 48: integrations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("integrations", "status"),
    [
        ({"Mixpanel": False}, "filtered"),
        ({"All": False, "Mixpanel": True}, "pending"),
        ({"All": False}, "filtered"),
        ({"All": False, "Mixpanel": {}}, "filtered"),
    ],
)
def test_rows_47_48_integrations_route_each_event(client, source, integrations, status):
    body = batch(track(1, integrations=integrations))
    assert post(client, "/v1/batch", body, key=source.write_key).status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.status == status
    assert delivery.reason.startswith("integrations: ") == (status == "filtered")
    assert Event.objects.get().message["integrations"] == integrations


# --- row 51: slashes and methods -----------------------------------------------------------------


def test_row_51_trailing_slash_works_and_get_is_405(client, source):
    response = post(client, "/v1/batch/", batch(track(1)), key=source.write_key)
    assert response.status_code == 200
    get = client.get("/v1/batch")
    assert_error(get, 405, "method_not_allowed")
    assert get["Allow"] == "POST, OPTIONS"
    assert Event.objects.count() == 1


# --- rows 52–54: rate limits, storage, Redis ----------------------------------------------------


def test_row_52_over_the_rate_limit(client):
    limited = make_source("limited", rate_limit_requests=1)
    fine = make_source("fine")
    assert post(client, "/v1/batch", batch(track(1)), key=limited.write_key).status_code == 200
    refused = post(client, "/v1/batch", batch(track(2)), key=limited.write_key)
    assert_error(refused, 429, "rate_limited")
    assert refused["Retry-After"] == refused["X-RateLimit-Reset"]
    assert post(client, "/v1/batch", batch(track(3)), key=fine.write_key).status_code == 200
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-3"]


def test_row_53_storage_down_is_503_then_the_retry_is_stored_once(client, source, monkeypatch):
    real = writes.insert_deliveries
    failures = []

    def down_once(*args):
        if not failures:
            failures.append(1)
            raise OperationalError("could not write to file: No space left on device")
        return real(*args)

    monkeypatch.setattr(writes, "insert_deliveries", down_once)
    body = batch(track(1), track(2), {"type": "track", "messageId": "bad"})
    refused = post(client, "/v1/batch", body, key=source.write_key)
    assert_error(refused, 503, "storage_unavailable")
    assert refused["Retry-After"] == "5"
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 0}

    retried = post(client, "/v1/batch", body, key=source.write_key, **{"X-Retry-Count": "1"})
    assert retried.status_code == 200
    again = post(client, "/v1/batch", body, key=source.write_key, **{"X-Retry-Count": "2"})
    assert again.status_code == 200
    assert counts() == {"events": 2, "deliveries": 2, "rejects": 1, "requests": 2}
    assert RejectedMessage.objects.get().count == 2


def test_row_53_a_locked_database_during_key_lookup_is_503(client, source, monkeypatch):
    def locked(key):
        raise OperationalError("database is locked")

    monkeypatch.setattr(views, "lookup_source", locked)
    response = post(client, "/v1/batch", batch(track(1)), key=source.write_key)
    assert_error(response, 503, "storage_unavailable")
    assert counts()["events"] == 0


def test_row_54_redis_down_still_stores(
    client, source, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import mappings.delivery.schedule as schedule

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    ratelimit.reset()
    monkeypatch.setattr(schedule, "schedule_flush", real_schedule_flush)
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, "/v1/batch", batch(track(1)), key=source.write_key)
    assert response.status_code == 200
    assert len(callbacks) == 1  # the flush hint ran, failed quietly
    assert time.perf_counter() - started < 3
    assert Delivery.objects.get().status == "pending"  # the relay delivers it later
    assert post(client, "/v1/batch", batch(track(2)), key=source.write_key).status_code == 200
    assert Event.objects.count() == 2


def test_row_55_a_crash_normalising_one_message_quarantines_it(client, source, monkeypatch):
    real = fields.check_required

    def fragile(kind, received, ids):
        if received.get("event") == "Boom":
            raise ZeroDivisionError("injected")
        return real(kind, received, ids)

    monkeypatch.setattr("mappings.ingest.normalize.check_required", fragile)
    body = batch(track(1), track(2, event="Boom"))
    response = post(client, "/v1/batch", body, key=source.write_key)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["code"] == "internal_error"
    reject = RejectedMessage.objects.get()
    assert (reject.code, reject.batch_index) == ("internal_error", 1)
    assert orjson.loads(reject.raw) == track(2, event="Boom")
    assert Event.objects.get().message_id == "msg-1"
