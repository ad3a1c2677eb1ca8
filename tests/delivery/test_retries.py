"""Transient failures (spec §15): backoff, Retry-After, the retry window, timeouts, 413, pause."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mappings import delivery, http
from mappings.models import Delivery, Destination, MixpanelRequest
from tests.delivery.conftest import fresh, purchase, store, track

pytestmark = pytest.mark.django_db


def verdicts() -> list[tuple[str, int]]:
    return list(MixpanelRequest.objects.order_by("id").values_list("verdict", "attempt"))


def test_a_503_is_retried_with_backoff_and_the_identical_body(mp, source, destination, monkeypatch):
    wire_bodies = []
    real_send = http.try_send

    def spy(prepared, **kwargs):  # still sends to the fake; only notes the bytes on the wire
        wire_bodies.append(prepared.body)
        return real_send(prepared, **kwargs)

    monkeypatch.setattr(http, "try_send", spy)
    deliveries = [store(source, destination, track(f"Event {n}", n=n)) for n in range(2)]
    mp.script("/import", status=503)
    now = timezone.now()

    delivery.flush(destination, now=now)

    for d in deliveries:
        d = fresh(d)
        assert (d.status, d.attempts, d.first_attempt_at) == ("retrying", 1, now)
        assert d.reason.startswith("HTTP 503")
        # Attempt 1: min(60, 2 s) + uniform(1, 5) s of jitter.
        assert now + timedelta(seconds=3) <= d.next_attempt_at <= now + timedelta(seconds=7)
        assert [r["kind"] for r in d.pending_records] == ["event"]
    assert mp.records() == []
    assert delivery.flush(destination, now=now + timedelta(seconds=2)).claimed == 0

    delivery.flush(destination, now=now + timedelta(seconds=8))

    assert [fresh(d).status for d in deliveries] == ["delivered", "delivered"]
    assert [fresh(d).attempts for d in deliveries] == [2, 2]
    assert verdicts() == [("retry", 1), ("delivered", 2)]
    first, second = wire_bodies
    assert second == first  # byte for byte, gzip included
    assert mp.requests("/import")[1]["body"] == MixpanelRequest.objects.first().body
    assert [r["event"] for r in mp.records()] == ["Event 0", "Event 1"]


def test_retry_after_is_honoured(mp, source, destination):
    d = store(source, destination, track())
    mp.script("/import", status=429, headers={"Retry-After": "120"})
    now = timezone.now()

    delivery.flush(destination, now=now)

    d = fresh(d)
    assert d.status == "retrying"
    # Retry-After counts from the answer: the flush's clock plus the (short) time spent sending.
    assert timedelta(seconds=120) <= d.next_attempt_at - now <= timedelta(seconds=121)
    request = MixpanelRequest.objects.get()
    assert request.response_status == 429 and request.response_headers["Retry-After"] == "120"


def test_retries_stop_after_the_retry_window(mp, source, destination):
    d = store(source, destination, track())
    mp.script("/import", status=500, times=2)
    now = timezone.now()
    delivery.flush(destination, now=now)

    delivery.flush(destination, now=now + timedelta(hours=4, seconds=1))

    d = fresh(d)
    assert d.status == "failed" and d.reason.startswith("retries exhausted")
    assert d.pending_records == [] and d.attempts == 2
    assert verdicts() == [("retry", 1), ("retry", 2)]
    assert MixpanelRequest.objects.last().manifest[0][3] == "failed"
    assert delivery.flush(destination, now=now + timedelta(days=1)).claimed == 0
    assert mp.records() == []


def test_a_timeout_is_retried_and_mixpanel_deduplicates_the_resend(
    mp, source, destination, settings
):
    settings.SEGMIX_MIXPANEL_TIMEOUT = 0.5
    d = store(source, destination, track("Slow"))
    # The fake answers (and ingests) after 1.5 s: too late for us, as a real slow Mixpanel.
    mp.script("/import", delay=1.5)
    now = timezone.now()

    delivery.flush(destination, now=now)

    request = MixpanelRequest.objects.get()
    assert (request.verdict, request.response_status) == ("retry", None)
    assert request.error == "read timeout after 0.5s"
    assert fresh(d).status == "retrying"

    delivery.flush(destination, now=now + timedelta(seconds=8))

    assert fresh(d).status == "delivered"
    deadline = time.monotonic() + 5
    while len(mp.records()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    [record] = mp.deduped("/import")
    assert record["event"] == "Slow" and record["copies"] == 2


def test_a_413_splits_the_request_in_halves_without_consuming_an_attempt(mp, source, destination):
    deliveries = [store(source, destination, track(f"Event {n}")) for n in range(4)]
    mp.script("/import", status=413)

    delivery.flush(destination)

    assert verdicts() == [("split", 1), ("delivered", 1), ("delivered", 1)]
    assert list(MixpanelRequest.objects.values_list("record_count", flat=True)) == [4, 2, 2]
    assert len(mp.requests("/import")) == 3
    assert [r["event"] for r in mp.records()] == [f"Event {n}" for n in range(4)]
    assert [fresh(d).status for d in deliveries] == ["delivered"] * 4
    assert [fresh(d).attempts for d in deliveries] == [1] * 4


def test_a_single_record_413_fails_for_good(mp, source, destination):
    d = store(source, destination, track())
    mp.script("/import", status=413)

    delivery.flush(destination)

    d = fresh(d)
    assert (d.status, d.reason) == ("failed", "record too large")
    assert verdicts() == [("failed", 1)]


def test_a_401_pauses_the_destination_and_keeps_the_rows_pending(mp, source, destination):
    deliveries = [
        store(source, destination, track("First")),
        store(source, destination, purchase("o-1", {"product_id": "p1", "price": 5})),
    ]
    mp.script("/import", status=401)

    report = delivery.flush(destination)

    assert report.paused and report.paused.startswith("Mixpanel rejected the credentials")
    destination = Destination.objects.get(pk=destination.pk)
    assert destination.paused_at is not None and destination.pause_reason == report.paused
    assert verdicts() == [("pause", 1)]  # the second request was never sent
    for d in deliveries:
        d = fresh(d)
        assert (d.status, d.attempts, d.first_attempt_at) == ("pending", 0, None)
        assert d.reason.startswith("destination paused: Mixpanel rejected the credentials")
    assert [len(fresh(d).pending_records) for d in deliveries] == [1, 2]

    # Nothing is dequeued while paused, not even later events.
    store(source, destination, track("Later"))
    assert delivery.flush(destination).skipped == "paused"
    assert delivery.relay() == 0
    assert len(mp.requests()) == 1


def test_saving_the_settings_resumes_a_paused_destination(mp, source, destination):
    d = store(source, destination, track("Held"))
    mp.script("/import", status=403)
    delivery.flush(destination)
    destination = Destination.objects.get(pk=destination.pk)
    destination.set_all_settings({**destination.all_settings(), "sourceName": "Web"})
    destination.save()

    report = delivery.flush(destination)

    assert report.skipped is None and fresh(d).status == "delivered"
    destination.refresh_from_db()
    assert (destination.paused_at, destination.pause_reason) == (None, "")
    assert verdicts() == [("pause", 1), ("delivered", 1)]
    assert [r["event"] for r in mp.records()] == ["Held"]


def test_resume_clears_the_pause(mp, source, destination, monkeypatch):
    scheduled = []
    monkeypatch.setattr(
        "mappings.delivery.schedule.schedule_flush", lambda pk: scheduled.append(pk) or True
    )
    d = store(source, destination, track())
    mp.script("/import", status=401)
    delivery.flush(destination)
    destination = Destination.objects.get(pk=destination.pk)

    delivery.resume(destination)

    assert scheduled == [destination.pk]
    delivery.flush(destination)
    assert fresh(d).status == "delivered"
    assert Delivery.objects.get(pk=d.pk).attempts == 1


def test_retry_after_counts_from_the_answer_not_the_start_of_the_flush(
    mp, source, destination, settings
):
    settings.SEGMIX_MIXPANEL_TIMEOUT = 10
    mp.script("/import", status=429, headers={"Retry-After": "10"}, delay=3)
    late = store(source, destination, track("Late answer"))
    delivery.flush(destination)
    answered = timezone.now() - timedelta(seconds=0.5)  # saved just before this line ran
    assert fresh(late).next_attempt_at >= answered + timedelta(seconds=10)


def test_records_that_failed_together_come_due_together(mp, source, destination):
    deliveries = [store(source, destination, track(f"Event {n}", n=n)) for n in range(5)]
    mp.script("/import", status=500)
    delivery.flush(destination)
    due = {fresh(d).next_attempt_at for d in deliveries}
    assert len(due) == 1
