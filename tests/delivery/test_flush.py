"""flush(): claim → evaluate → batch → send → classify → record, against the fake Mixpanel."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from mappings import delivery
from mappings.configuration import save_mapping
from mappings.models import Delivery, Mapping, MixpanelRequest, PendingProfileUpdate
from tests.delivery.conftest import fresh, identify, store, track

pytestmark = pytest.mark.django_db


def test_it_batches_the_events_of_one_flush_into_one_import_request(mp, source, destination):
    deliveries = [store(source, destination, track(f"Event {n}")) for n in range(3)]

    report = delivery.flush(destination)

    assert report.claimed == 3 and report.requests == 1 and not report.more_due
    assert [r["event"] for r in mp.records("/import")] == ["Event 0", "Event 1", "Event 2"]
    assert len(mp.requests("/import")) == 1
    for d in deliveries:
        d = fresh(d)
        assert (d.status, d.reason, d.attempts, d.pending_records) == ("delivered", "", 1, [])
        assert d.lease_until is None and d.first_attempt_at is not None
    [request] = MixpanelRequest.objects.all()
    assert (request.verdict, request.attempt, request.response_status) == ("delivered", 1, 200)
    assert request.manifest == [
        [d.id, "event", d.event.message_id, "delivered", None, None] for d in deliveries
    ]
    assert request.delivery_ids == [d.id for d in deliveries]


def test_the_request_row_keeps_masked_headers_and_the_decoded_body(mp, source, destination):
    store(source, destination, track("Signed Up", plan="team"))

    delivery.flush(destination)

    [request] = MixpanelRequest.objects.all()
    assert request.url == f"{mp.url}/import?strict=1"
    assert request.headers["Authorization"] == "Basic •••••• (API secret)"
    assert "fake-api-secret" not in str(request.headers) + str(request.body)
    assert request.body[0]["event"] == "Signed Up"
    assert request.body[0]["properties"]["plan"] == "team"
    assert request.record_count == 1 and request.body_bytes > request.wire_bytes > 0
    assert request.duration_ms is not None and '"num_records_imported": 1' in request.response_body
    assert request.mapping.name == "Track Calls" and request.mapping_version == 1


def test_batch_size_counts_records_per_request(mp, source, destination):
    mapping = destination.mappings.get(name="Track Calls")
    mapping.mapping = {**mapping.mapping, "batch_size": 2}
    save_mapping(mapping)
    for n in range(5):
        store(source, destination, track(f"Event {n}"))

    delivery.flush(destination)

    assert [len(r["body"]) for r in mp.requests("/import")] == [2, 2, 1]
    assert Delivery.objects.filter(status="delivered").count() == 5


def test_each_mapping_and_endpoint_gets_its_own_requests(mp, source, destination):
    store(source, destination, track("Clicked"))
    store(source, destination, identify(plan="pro"))
    store(source, destination, identify(user="user-2", anonymous="anon-2", plan="free"))

    delivery.flush(destination)

    requests = MixpanelRequest.objects.order_by("id")
    assert [(r.mapping.name, r.endpoint, r.record_count) for r in requests] == [
        ("Track Calls", "import", 1),
        ("Identify Calls", "import", 2),
        ("Identify Calls", "engage", 2),
    ]
    assert mp.profile("user-1") == {"plan": "pro"} and mp.profile("user-2") == {"plan": "free"}


def test_an_event_no_mapping_matches_is_filtered(mp, source, destination):
    d = store(source, destination, {"type": "alias", "userId": "u1", "previousId": "anon-1"})

    report = delivery.flush(destination)

    d = fresh(d)
    assert (d.status, d.reason, d.attempts) == ("filtered", "no matching mapping", 0)
    assert d.outcome[str(destination.mappings.get(name="Track Calls").id)]["status"] == (
        "not_matched"
    )
    assert report.requests == 0 and mp.requests() == []


def test_a_validation_error_fails_the_event_with_its_message_and_is_never_retried(
    mp, source, destination
):
    d = store(source, destination, {**track("Broken"), "properties": "not an object"})

    delivery.flush(destination)

    d = fresh(d)
    assert d.status == "failed"
    assert d.reason == "Event Properties must be an object but it was a string."
    entry = d.outcome[str(destination.mappings.get(name="Track Calls").id)]
    assert (entry["status"], entry["error_status"]) == ("validation_error", 400)
    assert mp.requests() == []
    assert delivery.flush(destination, now=timezone.now() + timedelta(days=1)).claimed == 0


def test_an_event_a_mapping_skips_is_skipped(mp, source, destination):
    save_mapping(
        Mapping(
            destination=destination,
            name="Alias",
            trigger='type = "alias"',
            action="alias",
            mapping={
                "alias": {"@path": "$.userId"},
                "distinct_id": {"@path": "$.previousId"},
            },
        )
    )
    d = store(source, destination, {"type": "alias", "userId": "u1", "previousId": "anon-1"})

    delivery.flush(destination)

    d = fresh(d)
    assert d.status == "skipped" and d.reason.startswith("alias ignored")
    assert mp.requests() == []


def test_a_disabled_destination_is_not_flushed(mp, source, destination):
    d = store(source, destination, track())
    destination.enabled = False
    destination.save()

    assert delivery.flush(destination).skipped == "disabled"
    assert fresh(d).status == "pending" and mp.requests() == []


def test_rows_not_yet_due_or_leased_by_another_worker_are_left_alone(mp, source, destination):
    now = timezone.now()
    later = store(source, destination, track("Later"))
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=1))
    leased = store(source, destination, track("Leased"))
    Delivery.objects.filter(pk=leased.pk).update(lease_until=now + timedelta(minutes=1))

    assert delivery.flush(destination, now=now).claimed == 0

    report = delivery.flush(destination, now=now + timedelta(minutes=2))
    assert report.claimed == 2
    assert sorted(r["event"] for r in mp.records()) == ["Later", "Leased"]


def test_a_flush_takes_at_most_the_limit_oldest_first_and_says_more_are_due(
    mp, source, destination
):
    deliveries = [store(source, destination, track(f"Event {n}")) for n in range(3)]

    report = delivery.flush(destination, limit=2)

    assert (report.claimed, report.more_due) == (2, True)
    assert [r["event"] for r in mp.records()] == ["Event 0", "Event 1"]
    assert fresh(deliveries[2]).status == "pending"
    assert delivery.flush(destination, limit=2).more_due is False


def test_records_are_stored_for_replay_with_their_exact_bodies(mp, source, destination):
    d = store(source, destination, track("Exported", rows=1200, ratio=0.5))

    delivery.flush(destination)

    [stored] = fresh(d).records
    sent = mp.requests("/import")[0]["body"][0]
    assert stored["kind"] == "event" and stored["insert_id"] == d.event.message_id
    # Stored as JSON text: the exact value sent, keys in the order sent (jsonb would sort them).
    assert json.loads(stored["body"]) == sent
    assert list(json.loads(stored["body"])["properties"]) == list(sent["properties"])
    assert PendingProfileUpdate.objects.count() == 0


# Holds a destination's flush lock in a process of its own, as a worker mid-flush does.
_HOLD_FLUSH_LOCK = """
import sys, time, django
django.setup()
from mappings.delivery.claim import exclusive_flush
with exclusive_flush(int(sys.argv[1])) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(120)
"""


def _database_url(connection) -> str:
    """The test database as a ``DATABASE_URL`` another process can use."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
        return f"postgres://{quote(s['USER'])}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_flush_waits_while_another_process_flushes_and_not_after_that_process_is_killed(
    mp, source, destination, tmp_path
):
    """Per-profile order needs one flush at a time per destination (spec §14.3), across worker
    processes; a worker killed mid-flush must not keep the destination locked."""
    from django.db import connection

    d = store(source, destination, track("Held Back"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "segmix_site.settings",
        "DEBUG": "1",
        "SEGMIX_VAR_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(connection),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", _HOLD_FLUSH_LOCK, str(destination.pk)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout.readline().strip() == "held"
        report = delivery.flush(destination)
        assert (report.skipped, report.claimed, report.requests) == ("busy", 0, 0)
        assert fresh(d).status == "pending" and mp.records() == []
    finally:
        worker.kill()
        worker.wait(timeout=10)

    # PostgreSQL ends the killed worker's session (the kernel drops its flock) a moment later.
    deadline = time.monotonic() + 10
    while (report := delivery.flush(destination)).skipped == "busy" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (report.skipped, report.claimed) == (None, 1)
    assert [r["event"] for r in mp.records("/import")] == ["Held Back"]
    assert fresh(d).status == "delivered"


def test_the_sqlite_flush_lock_is_a_file_lock_beside_the_database(tmp_path, settings):
    """The embedded default: ``flock`` on ``<database>.flush-<id>.lock``, which the kernel
    releases when the holding process dies."""
    import fcntl
    from unittest import mock

    from mappings.delivery import claim

    database = tmp_path / "segmix.sqlite3"
    fake = mock.Mock(
        vendor="sqlite", settings_dict={"NAME": str(database)}, is_in_memory_db=lambda: False
    )
    with mock.patch.object(claim, "connection", fake):
        with claim.exclusive_flush(7) as held:
            assert held is True
            lock = tmp_path / "segmix.sqlite3.flush-7.lock"
            other = os.open(lock, os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                with claim.exclusive_flush(7) as second:
                    assert second is False
                with claim.exclusive_flush(8) as another_destination:
                    assert another_destination is True
            finally:
                os.close(other)
        with claim.exclusive_flush(7) as again:
            assert again is True


def test_a_row_stored_while_the_flush_lets_go_is_still_seen(mp, source, destination, monkeypatch):
    # Its flush hint found the destination busy, so the running flush must see it: it looks for
    # due rows after releasing the lock, not before.
    store(source, destination, track("First"))
    flush_module = sys.modules["mappings.delivery.flush"]
    real = flush_module.exclusive_flush

    @contextlib.contextmanager
    def storing_before_release(destination_id):
        with real(destination_id) as held:
            yield held
            store(source, destination, track("Arrived During The Flush"))

    monkeypatch.setattr(flush_module, "exclusive_flush", storing_before_release)

    report = delivery.flush(destination)

    assert (report.claimed, report.more_due) == (1, True)
