"""schedule_flush (Redis linger key), relay, and the thin Celery tasks."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from mappings import delivery, tasks
from mappings.delivery import schedule
from mappings.delivery.claim import pause
from mappings.delivery.schedule import LINGER_KEY
from mappings.models import Delivery
from tests.delivery.conftest import fresh, make_destination, store, track

pytestmark = pytest.mark.django_db

TEST_REDIS = "redis://127.0.0.1:6379/15"  # not a developer's worker's database


@pytest.fixture
def enqueued(monkeypatch, settings) -> list[tuple[list, float | None]]:
    """Calls to ``flush_destination.apply_async``, which does not reach any broker here."""
    settings.REDIS_URL = TEST_REDIS
    calls: list[tuple[list, float | None]] = []

    def apply_async(args, countdown=None, **options):
        calls.append((args, countdown))

    monkeypatch.setattr(tasks.flush_destination, "apply_async", apply_async)
    return calls


@pytest.fixture
def linger_key(destination):
    client = redis.Redis.from_url(TEST_REDIS)
    key = LINGER_KEY.format(destination.pk)
    client.delete(key)
    yield key
    client.delete(key)


def test_requests_within_the_linger_window_share_one_flush(
    enqueued, destination, linger_key, settings
):
    settings.SEGMIX_FLUSH_LINGER = 0.2

    assert delivery.schedule_flush(destination.pk) is True
    assert delivery.schedule_flush(destination.pk) is False
    assert enqueued == [([destination.pk], 0.2)]
    assert 0 < redis.Redis.from_url(TEST_REDIS).pttl(linger_key) <= 200

    time.sleep(0.3)
    assert delivery.schedule_flush(destination.pk) is True
    assert len(enqueued) == 2


def test_a_redis_outage_never_raises(destination, settings, enqueued):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    assert delivery.schedule_flush(destination.pk) is False
    assert enqueued == []


def test_a_broker_outage_never_raises(destination, linger_key, settings, monkeypatch):
    settings.REDIS_URL = TEST_REDIS

    def refuse(*args, **kwargs):
        raise BrokerError("connection refused")

    monkeypatch.setattr(tasks.flush_destination, "apply_async", refuse)

    assert delivery.schedule_flush(destination.pk) is False
    assert delivery.enqueue_flush_now(destination.pk) is False


def test_relay_schedules_destinations_with_due_rows_only(source, destination, monkeypatch):
    scheduled: list[int] = []
    monkeypatch.setattr(schedule, "schedule_flush", lambda pk: scheduled.append(pk) or True)
    idle = make_destination(source, "Idle")
    paused = make_destination(source, "Paused")
    disabled = make_destination(source, "Disabled")
    later = make_destination(source, "Later")
    for target in (destination, paused, disabled, later):
        store(source, target, track())
    Delivery.objects.filter(destination=later).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    pause(paused, "Mixpanel rejected the credentials")
    disabled.enabled = False
    disabled.save()

    assert delivery.relay() == 1
    assert scheduled == [destination.pk]
    assert idle.pk not in scheduled


def test_the_flush_task_flushes_and_asks_for_more_when_rows_remain(
    mp, source, destination, settings, monkeypatch
):
    settings.SEGMIX_FLUSH_MAX_EVENTS = 1
    again: list[int] = []
    monkeypatch.setattr(delivery, "enqueue_flush_now", lambda pk: again.append(pk) or True)
    first, second = store(source, destination, track("A")), store(source, destination, track("B"))

    tasks.flush_destination.apply(args=[destination.pk]).get()

    assert (fresh(first).status, fresh(second).status) == ("delivered", "pending")
    assert again == [destination.pk]


def test_the_tasks_are_acked_late_and_retry_only_transient_database_errors():
    for task in (tasks.flush_destination, tasks.relay, tasks.prune):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.autoretry_for == tasks.TRANSIENT_DB_ERRORS
    assert tasks.flush_destination.name == "mappings.tasks.flush_destination"


def test_the_beat_schedule_runs_relay_and_prune(settings):
    schedule_ = settings.CELERY_BEAT_SCHEDULE
    assert schedule_["segmix-relay"]["task"] == "mappings.tasks.relay"
    assert schedule_["segmix-relay"]["schedule"] == settings.SEGMIX_RELAY_INTERVAL == 5.0
    assert schedule_["segmix-prune"]["task"] == "mappings.tasks.prune"
