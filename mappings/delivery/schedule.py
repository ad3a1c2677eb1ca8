"""Enqueueing flushes: the linger window, the immediate re-flush and the relay.

Redis is only a hint here, never the record (the outbox is the ``Delivery`` table): every error
talking to Redis or the broker is logged and swallowed, and the periodic :func:`relay` finds the
due rows again. So a Redis outage delays delivery; it never fails ingest or loses an event.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from kombu.exceptions import KombuError

from ..models import Destination
from .claim import UNPAUSED, all_due

log = logging.getLogger(__name__)

LINGER_KEY = "segmix:flush:{}"
# Redis and broker failures: a flush not enqueued now is enqueued by the next relay.
ENQUEUE_ERRORS = (redis.RedisError, KombuError, OSError)

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            # Short timeouts: this runs in the ingest request path (after commit).
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            _clients[url] = client
    return client


def schedule_flush(destination_id: int) -> bool:
    """Ask for a flush of ``destination_id`` after the linger window (``SEGMIX_FLUSH_LINGER``).

    ``SET segmix:flush:<id> NX PX <linger>``: only the first caller in a window enqueues, so the
    events of every request arriving within it share one flush (batching across requests).
    Returns whether a flush was enqueued; never raises for Redis or broker errors.
    """
    linger = max(float(settings.SEGMIX_FLUSH_LINGER), 0.0)
    try:
        first = _redis().set(
            LINGER_KEY.format(destination_id), "1", nx=True, px=max(1, int(linger * 1000))
        )
        if not first:
            return False
        return _enqueue(destination_id, countdown=linger)
    except ENQUEUE_ERRORS as exc:
        log.warning("could not schedule a flush of destination %s: %s", destination_id, exc)
        return False


def enqueue_flush_now(destination_id: int) -> bool:
    """Enqueue a flush without lingering (more rows were due after a flush)."""
    try:
        return _enqueue(destination_id, countdown=None)
    except ENQUEUE_ERRORS as exc:
        log.warning("could not enqueue a flush of destination %s: %s", destination_id, exc)
        return False


def _enqueue(destination_id: int, *, countdown: float | None) -> bool:
    from ..tasks import flush_destination  # tasks import this module

    # retry=False: fail fast when the broker is down; the relay is the retry.
    flush_destination.apply_async(args=[destination_id], countdown=countdown, retry=False)
    return True


def destinations_with_due_rows() -> list[int]:
    """Enabled, unpaused destinations that have deliveries a worker could take now."""
    rows = all_due(timezone.now()).filter(destination_id=OuterRef("pk"))
    return list(
        Destination.objects.filter(enabled=True)
        .filter(UNPAUSED)
        .filter(Exists(rows))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def relay() -> int:
    """Schedule a flush for every destination with due rows; returns how many were scheduled.

    Runs from Celery beat every ``SEGMIX_RELAY_INTERVAL`` seconds: what makes a lost Celery
    message, a worker crash or a wiped Redis only a delay.
    """
    return sum(1 for pk in destinations_with_due_rows() if schedule_flush(pk))
