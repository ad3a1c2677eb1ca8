"""What ingest remembers between requests to save round trips (spec §5.6, §6.2).

- ``sources.enabled_destinations``: a source's enabled destinations, for one second at most, and
  forgotten at once when a destination or a source link is saved or deleted in this process;
- ``store._hint_flush``: once this process enqueued a flush for a destination, it does not ask
  Redis again while that flush is still lingering (it will take the rows committed meanwhile).
"""

from __future__ import annotations

import pytest

from mappings.ingest import sources, store
from mappings.models import Destination
from tests.ingest.http_support import make_destination, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(sources.time, "monotonic", lambda: now[0])
    sources.clear_cache()
    yield now
    sources.clear_cache()


def test_enabled_destinations_are_read_once_per_second(clock, django_assert_num_queries):
    source = make_source()
    first = make_destination(source, name="a")
    make_destination(source, name="off", enabled=False)
    make_destination(make_source("other"), name="elsewhere")
    second = make_destination(source, name="b")

    with django_assert_num_queries(1):
        assert sources.enabled_destinations(source.id) == (
            (first.pk, "mixpanel"),
            (second.pk, "mixpanel"),
        )
        assert sources.enabled_destinations(source.id) == sources.enabled_destinations(source.id)

    Destination.objects.filter(pk=second.pk).update(enabled=False)  # no signal
    assert len(sources.enabled_destinations(source.id)) == 2
    clock[0] += sources.DESTINATIONS_CACHE_SECONDS
    assert sources.enabled_destinations(source.id) == ((first.pk, "mixpanel"),)


def test_saving_or_linking_a_destination_is_seen_at_once(clock):
    source = make_source()
    destination = make_destination(source)
    assert sources.enabled_destinations(source.id) == ((destination.pk, "mixpanel"),)

    destination.enabled = False
    destination.save()
    assert sources.enabled_destinations(source.id) == ()

    other = make_destination(name="later")
    other.sources.add(source)
    assert sources.enabled_destinations(source.id) == ((other.pk, "mixpanel"),)

    other.delete()
    assert sources.enabled_destinations(source.id) == ()


@pytest.fixture
def scheduler(monkeypatch, settings):
    """``schedule_flush`` answering True (enqueued) or False (already scheduled), recorded."""
    import mappings.delivery.schedule as schedule

    settings.SEGMIX_FLUSH_LINGER = 1.0
    now = [50.0]
    calls: list[int] = []
    answer = [True]

    def schedule_flush(destination_id):
        calls.append(destination_id)
        return answer[0]

    monkeypatch.setattr(schedule, "schedule_flush", schedule_flush)
    monkeypatch.setattr(store.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(store, "_flush_scheduled_until", {})
    return calls, now, answer


def test_a_flush_this_process_enqueued_spares_redis_until_it_runs(scheduler):
    calls, now, _answer = scheduler
    store._hint_flush((7, 8))
    store._hint_flush((7,))
    now[0] += 0.9
    store._hint_flush((7, 8))
    assert calls == [7, 8]

    now[0] += 0.1  # the linger window is over: the flush ran or is running
    store._hint_flush((7,))
    assert calls == [7, 8, 7]


def test_a_flush_scheduled_elsewhere_is_asked_about_every_time(scheduler):
    calls, _now, answer = scheduler
    answer[0] = False  # another process holds the window: when it ends is unknown here
    store._hint_flush((7,))
    store._hint_flush((7,))
    assert calls == [7, 7]
