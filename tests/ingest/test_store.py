"""The ingest transaction (spec §6.2, §6.3, §5.6; docs/pipeline.md Ingest step 3–5).

``store.store_request`` is driven with real ``normalize_request`` output, and what it committed
is read back row by row. The concurrency test posts the same batch from two threads.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from mappings.ingest import sources, store, writes
from mappings.ingest.normalize import normalize_request
from mappings.ingest.store import StorageUnavailable, log_request, store_request
from mappings.models import Delivery, Event, IngestRequest, RejectedMessage
from tests.ingest.http_support import (
    batch,
    counts,
    flush_hints,
    isolated_ingest,  # noqa: F401 - fixture
    make_destination,
    make_source,
    post,
    track,
)

NOW = datetime(2026, 3, 10, 12, 0, 5, 250000, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def normalized(source, *messages, **envelope):
    body = {"batch": list(messages), **envelope}
    return normalize_request(body, route_type=None, received_at=NOW, source_id=str(source.id))


def commit(source, *messages, request_id="req-1", **envelope):
    return store_request(
        source.id,
        normalized(source, *messages, **envelope),
        received_at=NOW,
        log_fields={"request_id": request_id, "route": "batch", "received_at": NOW},
    )


def test_it_commits_events_deliveries_and_the_request_row_together():
    source = make_source()
    destination = make_destination(source)
    message = track(1, writeKey="stripped", context={"library": {"name": "analytics-python"}})

    result = commit(source, message, {"type": "identify", "anonymousId": "a-1"})

    assert (result.accepted, result.duplicates, result.rejected) == (2, 0, 0)
    assert counts() == {"events": 2, "deliveries": 2, "rejects": 0, "requests": 1}
    request = IngestRequest.objects.get()
    assert (request.request_id, request.source_id, request.status) == ("req-1", source.id, 200)
    assert (request.accepted, request.duplicates, request.rejected) == (2, 0, 0)
    event = Event.objects.get(batch_index=0)
    assert event.message == {
        "type": "track",
        "event": "Event 1",
        "userId": "user-1",
        "messageId": "msg-1",
        "properties": {"n": 1},
        "context": {"library": {"name": "analytics-python"}},
        "originalTimestamp": "2026-03-10T11:58:00.000Z",
        "receivedAt": "2026-03-10T12:00:05.250Z",
        "timestamp": "2026-03-10T11:58:00.000Z",
    }
    assert event.raw == {k: v for k, v in message.items() if k != "writeKey"}
    assert event.dedup_hash == hashlib.sha256(b"msg-1").hexdigest()
    assert (event.message_id, event.message_id_assigned, event.type) == ("msg-1", False, "track")
    assert (event.event_name, event.user_id, event.request_id) == ("Event 1", "user-1", request.pk)
    assert event.received_at == NOW
    assert (event.duplicate_count, event.last_seen_at, event.warnings) == (0, None, [])
    identify = Event.objects.get(batch_index=1)
    assert identify.message_id_assigned and identify.warnings == ["message_id_assigned"]
    assert identify.anonymous_id == "a-1"
    delivery = Delivery.objects.get(event=event)
    assert (delivery.destination_id, delivery.status, delivery.reason) == (
        destination.pk,
        "pending",
        "",
    )
    assert (delivery.attempts, delivery.outcome, delivery.pending_records) == (0, {}, [])


def test_a_resent_batch_only_counts_duplicates():
    source = make_source()
    make_destination(source)
    commit(source, track(1), track(2))

    result = commit(source, track(1), track(2), request_id="req-2")

    assert (result.accepted, result.duplicates) == (0, 2)
    assert counts() == {"events": 2, "deliveries": 2, "rejects": 0, "requests": 2}
    assert set(Event.objects.values_list("duplicate_count", flat=True)) == {1}
    assert all(e.last_seen_at == NOW for e in Event.objects.all())
    second = IngestRequest.objects.get(request_id="req-2")
    assert (second.accepted, second.duplicates) == (0, 2)


def test_the_first_occurrence_in_a_batch_wins():
    source = make_source()
    make_destination(source)

    result = commit(source, track(1), track(1, event="Changed"), track(1))

    assert (result.accepted, result.duplicates) == (1, 2)
    event = Event.objects.get()
    assert (event.message["event"], event.duplicate_count, event.batch_index) == ("Event 1", 2, 0)
    assert Delivery.objects.count() == 1


def test_duplicates_are_per_source():
    web, app = make_source("web"), make_source("app")
    commit(web, track(1))
    commit(app, track(1))
    assert Event.objects.filter(duplicate_count=0).count() == 2


def test_only_enabled_destinations_of_the_source_get_delivery_rows():
    source, other = make_source("web"), make_source("other")
    enabled = make_destination(source, name="prod")
    paused = make_destination(source, name="paused")
    paused.paused_at = NOW
    paused.save()
    make_destination(source, name="off", enabled=False)
    make_destination(other, name="elsewhere")

    commit(source, track(1))

    rows = sorted(Delivery.objects.values_list("destination_id", "status"))
    assert rows == [(enabled.pk, "pending"), (paused.pk, "pending")]


@pytest.mark.parametrize(
    ("integrations", "status", "reason"),
    [
        ({"Mixpanel": False}, "filtered", "integrations: Mixpanel"),
        ({"Actions Mixpanel": False}, "filtered", "integrations: Actions Mixpanel"),
        ({"All": False, "Mixpanel": True}, "pending", ""),
        ({"All": False}, "filtered", "integrations: All"),
        ({"All": False, "Mixpanel": {}}, "filtered", "integrations: All"),
        ({"mixpanel": False}, "pending", ""),  # keys are case-sensitive
    ],
)
def test_integrations_decide_each_delivery(integrations, status, reason):
    source = make_source()
    make_destination(source)

    commit(source, track(1, integrations=integrations))

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.reason) == (status, reason)
    assert Event.objects.get().message["integrations"] == integrations  # stored verbatim


def test_envelope_integrations_are_merged_before_deciding():
    source = make_source()
    make_destination(source)
    commit(source, track(1), track(2, integrations={"Mixpanel": True}), integrations={"All": False})
    assert dict(Delivery.objects.values_list("event__message_id", "status")) == {
        "msg-1": "filtered",
        "msg-2": "pending",
    }


def test_flush_hints_follow_the_commit_for_destinations_with_pending_rows(
    django_capture_on_commit_callbacks,
):
    source = make_source()
    first = make_destination(source, name="a")
    make_destination(source, name="b", enabled=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        commit(source, track(1))
        assert flush_hints() == []  # nothing before COMMIT
    assert len(callbacks) == 1
    assert flush_hints() == [first.pk]


def test_no_flush_hint_when_every_row_is_filtered(django_capture_on_commit_callbacks):
    source = make_source()
    make_destination(source)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        commit(source, track(1, integrations={"Mixpanel": False}))
    assert callbacks == [] and flush_hints() == []


def test_a_failing_or_missing_scheduler_never_fails_ingest(
    monkeypatch, django_capture_on_commit_callbacks
):
    source = make_source()
    make_destination(source)
    import mappings.delivery.schedule as schedule

    def broken(destination_id):
        raise RuntimeError("redis is gone")

    monkeypatch.setattr(schedule, "schedule_flush", broken)
    with django_capture_on_commit_callbacks(execute=True):
        commit(source, track(1))
    monkeypatch.setitem(sys.modules, "mappings.delivery.schedule", None)  # import fails
    with django_capture_on_commit_callbacks(execute=True):
        commit(source, track(2), request_id="req-2")
    assert Delivery.objects.count() == 2


def test_rejects_with_a_message_id_are_counted_not_repeated():
    source = make_source()
    bad = {"type": "track", "messageId": "bad-1"}
    commit(source, bad, bad, {"type": "track"})
    commit(source, bad, {"type": "track"}, request_id="req-2")

    keyed = RejectedMessage.objects.get(message_id="bad-1")
    assert keyed.count == 3
    assert keyed.dedup_hash == hashlib.sha256(b"bad-1").hexdigest()
    assert (keyed.code, keyed.batch_index, keyed.raw) == (
        "no_user_anon_id",
        0,
        '{"type":"track","messageId":"bad-1"}',
    )
    assert RejectedMessage.objects.filter(dedup_hash=None).count() == 2
    assert IngestRequest.objects.get(request_id="req-2").rejected == 2


def test_long_ids_are_cut_in_the_search_columns_only():
    source = make_source()
    long_id = "u" * 300
    commit(source, track(1, userId=long_id, event="E" * 300))
    event = Event.objects.get()
    assert (len(event.user_id), len(event.event_name)) == (255, 255)
    assert event.message["userId"] == long_id


def test_batches_larger_than_one_insert_are_stored_whole():
    source = make_source()
    make_destination(source)
    messages = [track(n) for n in range(1200)]
    result = commit(source, *messages)
    assert result.accepted == 1200
    assert counts()["events"] == 1200 and counts()["deliveries"] == 1200


def test_a_concurrent_twin_makes_the_transaction_run_once_more(monkeypatch):
    source = make_source()
    make_destination(source)
    commit(source, track(1))
    real = writes.existing_events
    calls = []

    def blind_first(*args):
        calls.append(1)
        return {} if len(calls) == 1 else real(*args)  # as if the twin committed meanwhile

    monkeypatch.setattr(writes, "existing_events", blind_first)
    result = commit(source, track(1), track(2), request_id="req-2")

    assert len(calls) == 2
    assert (result.accepted, result.duplicates) == (1, 1)
    assert counts() == {"events": 2, "deliveries": 2, "rejects": 0, "requests": 2}


def test_a_second_integrity_error_is_storage_unavailable(monkeypatch):
    source = make_source()
    commit(source, track(1))
    monkeypatch.setattr(writes, "existing_events", lambda *args: {})
    with pytest.raises(StorageUnavailable):
        commit(source, track(1), request_id="req-2")
    assert counts() == {"events": 1, "deliveries": 0, "rejects": 0, "requests": 1}


def test_a_deadlock_is_retried_like_a_twin(monkeypatch):
    source = make_source()
    real = writes.insert_deliveries
    calls = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def deadlock_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return real(*args)

    monkeypatch.setattr(writes, "insert_deliveries", deadlock_once)
    assert commit(source, track(1)).accepted == 1
    assert len(calls) == 2 and counts()["events"] == 1


def test_a_database_failure_stores_nothing(monkeypatch):
    source = make_source()
    make_destination(source)

    def down(*args):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(writes, "insert_deliveries", down)  # after events were inserted
    with pytest.raises(StorageUnavailable):
        commit(source, track(1), {"type": "track"})
    assert counts() == {"events": 0, "deliveries": 0, "rejects": 0, "requests": 0}


def test_other_database_errors_are_not_disguised(monkeypatch):
    source = make_source()
    monkeypatch.setattr(writes, "existing_events", lambda *a: (_ for _ in ()).throw(KeyError()))
    with pytest.raises(KeyError):
        commit(source, track(1))


def test_the_request_log_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise IntegrityError("boom")

    monkeypatch.setattr(store, "insert", broken)
    log_request({"request_id": "r", "route": "batch", "status": 400, "code": "invalid_json"})
    assert IngestRequest.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_one_batch_store_one_event(monkeypatch):
    source = make_source()
    make_destination(source)
    body = batch(track(1), track(2))
    real = writes.existing_events
    # On PostgreSQL both transactions read "nothing yet" before either inserts, so the loser
    # blocks on the unique index, fails, and retries. SQLite serialises writers at BEGIN.
    both_read = threading.Barrier(2, timeout=5)
    first_read = threading.local()
    reads: list[int] = []

    def read_then_wait(*args):
        reads.append(1)
        found = real(*args)
        if connection.vendor == "postgresql" and not getattr(first_read, "done", False):
            first_read.done = True
            both_read.wait()
        return found

    monkeypatch.setattr(writes, "existing_events", read_then_wait)
    answers: list[int] = []

    def send():
        try:
            answers.append(post(Client(), "/v1/batch", body, key=source.write_key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert answers == [200, 200]
    if connection.vendor == "postgresql":
        assert len(reads) == 3  # the loser's transaction ran twice
    assert Event.objects.count() == 2
    assert Delivery.objects.count() == 2
    assert set(Event.objects.values_list("duplicate_count", flat=True)) == {1}
    assert sorted(IngestRequest.objects.values_list("accepted", "duplicates")) == [(0, 2), (2, 0)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_is_replaced_instead_of_answering_503():
    """After a database restart every web thread's connection is dead; the first request on each
    must not be refused for it (the database is up again)."""
    assert connection.vendor == "postgresql", "a database server session to terminate"
    import psycopg

    source = make_source()
    commit(source, track(1))
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])

    result = commit(source, track(2), request_id="req-2")

    assert (result.accepted, result.duplicates) == (1, 0)
    assert connection.connection.info.backend_pid != dropped
    assert counts() == {"events": 2, "deliveries": 0, "rejects": 0, "requests": 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_met_by_the_source_lookup_is_replaced_too():
    """The write key's source is read before the transaction, on a cache miss; a dead connection
    there must not answer 503 either (the e2e database-down drill met exactly this)."""
    assert connection.vendor == "postgresql", "a database server session to terminate"
    import psycopg

    source = make_source()
    assert post(Client(), "/v1/batch", batch(track(1)), key=source.write_key).status_code == 200
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])
    sources.clear_cache()

    response = post(Client(), "/v1/batch", batch(track(2)), key=source.write_key)

    assert response.status_code == 200, response.content
    assert connection.connection.info.backend_pid != dropped
    assert Event.objects.count() == 2


def test_the_source_lookup_retries_a_lost_connection_once_then_storage_unavailable(monkeypatch):
    closed = []
    monkeypatch.setattr(store, "_connection_lost", lambda exc: True)
    monkeypatch.setattr(store.connection, "close", lambda: closed.append(1))
    reads = []

    def lost():
        reads.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(StorageUnavailable, match="server closed the connection"):
        store.on_live_connection(lost)
    assert (len(reads), len(closed)) == (2, 1)

    answers = iter([OperationalError("terminating connection"), "the source"])

    def lost_once():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert store.on_live_connection(lost_once) == "the source"
    assert len(closed) == 2


def test_the_source_lookup_does_not_retry_an_error_that_left_the_connection_alive(monkeypatch):
    monkeypatch.setattr(store, "_connection_lost", lambda exc: False)
    reads = []

    def refused():
        reads.append(1)
        raise OperationalError("database is locked")

    with pytest.raises(StorageUnavailable, match="database is locked"):
        store.on_live_connection(refused)
    assert len(reads) == 1


def test_a_lost_connection_is_retried_once_then_storage_unavailable(monkeypatch):
    source = make_source()
    attempts = []

    def lost(*args):
        attempts.append(1)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(store, "_store_once", lost)
    monkeypatch.setattr(store, "_connection_lost", lambda exc: True)
    monkeypatch.setattr(store.connection, "close", lambda: None)  # keep the test's transaction
    with pytest.raises(StorageUnavailable, match="server closed the connection"):
        commit(source, track(1))
    assert len(attempts) == 2
