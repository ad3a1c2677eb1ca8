"""One flush of one destination: claim → evaluate → send → classify → record.

:func:`flush` is what the ``flush_destination`` task runs; tests and ``manage.py replay`` call it
directly. See ``docs/pipeline.md`` for the design.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import Delivery, Destination, Event
from ..plans import plan_for
from .claim import claim, clear_pause, due, exclusive_flush, is_paused, pause
from .prepare import prepare
from .recording import save_deliveries
from .send import Sender

log = logging.getLogger(__name__)


@dataclass
class FlushReport:
    """What one flush did. ``skipped`` says why nothing was claimed (``disabled``, ``paused``,
    ``missing``, ``busy``: another flush of the destination is running); ``more_due`` asks the
    caller to flush again right away."""

    destination_id: int
    claimed: int = 0
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    paused: str | None = None
    skipped: str | None = None
    more_due: bool = False


# A flush reads an event's normalised message and its receipt time (``prepare``), nothing else:
# the JSON as received is as big as the message, and every column loaded costs a conversion.
_EVENT_FIELDS_READ = {"id", "message", "received_at"}
_EVENT_FIELDS_UNREAD = tuple(
    f"event__{f.name}" for f in Event._meta.concrete_fields if f.name not in _EVENT_FIELDS_READ
)


def flush(
    destination: Destination | int, *, now: datetime | None = None, limit: int | None = None
) -> FlushReport:
    """Deliver up to ``limit`` (``SEGMIX_FLUSH_MAX_EVENTS``) due deliveries of ``destination``.

    ``now`` is the clock for due times, leases and retry scheduling (tests pass it to step through
    retries). Every HTTP request is recorded as it happens; delivery rows are written at the end,
    even when sending fails unexpectedly, and their leases released.
    """
    destination_id = destination.pk if isinstance(destination, Destination) else destination
    report = FlushReport(destination_id)
    try:
        destination = Destination.objects.get(pk=destination_id)
    except Destination.DoesNotExist:
        report.skipped = "missing"
        return report
    if not destination.enabled:
        report.skipped = "disabled"
        return report
    if destination.paused_at is not None:
        if is_paused(destination):
            report.skipped = "paused"
            return report
        clear_pause(destination)  # its settings were saved since the pause
    with exclusive_flush(destination.pk) as held:
        if not held:
            # The running flush looks for due rows once it lets go (below), so none is left.
            report.skipped = "busy"
            return report
        _flush_held(destination, report, now, limit)
    if report.claimed and report.paused is None:
        # Looked up after letting go: a row stored meanwhile is either seen here, or its own
        # flush hint found the lock free.
        report.more_due = due(destination.pk, now or timezone.now()).exists()
    return report


def _flush_held(
    destination: Destination, report: FlushReport, now: datetime | None, limit: int | None
) -> None:
    plan = plan_for(destination)
    now = now or timezone.now()
    lease = float(settings.SEGMIX_LEASE_SECONDS)
    ids = claim(
        destination.pk, now, limit=limit or settings.SEGMIX_FLUSH_MAX_EVENTS, lease_seconds=lease
    )
    report.claimed = len(ids)
    if not ids:
        return
    deliveries = (
        Delivery.objects.filter(id__in=ids)
        .select_related("event")
        .defer(*_EVENT_FIELDS_UNREAD)
        .order_by("id")
    )
    works = [prepare(d, plan, now) for d in deliveries]
    # Stop sending while the lease still covers one more request (timeout) plus a margin.
    budget = max(lease - float(settings.SEGMIX_MIXPANEL_TIMEOUT) - 5.0, lease / 2)
    started = time.monotonic()
    sender = Sender(destination, plan, works, now, deadline=started + budget)
    try:
        sender.run()
    finally:
        if sender.paused is not None:
            report.paused = f"{sender.paused.alert}: {sender.paused.message}"
            pause(destination, report.paused)
            log.warning("destination %s paused: %s", destination.pk, report.paused)
        # Retries count from when the answers were in hand: the flush's clock plus the time
        # spent sending (the injected test clock advances by real elapsed time too).
        answered = now + timedelta(seconds=time.monotonic() - started)
        save_deliveries(destination, works, now, answered=answered, paused=report.paused)
    report.requests = sender.requests_sent
    report.statuses = Counter(w.delivery.status for w in works)


def resume(destination: Destination) -> None:
    """Un-pause ``destination`` (the console's "Resume") and deliver what waited."""
    from .schedule import schedule_flush

    clear_pause(destination)
    schedule_flush(destination.pk)
