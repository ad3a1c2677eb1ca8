"""Celery tasks: thin wrappers that take an id and call one ``mappings.delivery`` function.

Each is ``acks_late`` with ``reject_on_worker_lost``: a worker killed mid-task leaves the message
to be redelivered, and the delivery leases make a second run harmless. Only named transient
database errors are retried here; everything else is the relay's job.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import delivery

# Connection lost, "database is locked", failover: worth another try in a moment.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
_RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_DB_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(**_RETRY)
def flush_destination(destination_id: int) -> None:
    """Deliver one destination's due rows; enqueue another flush when more are due."""
    report = delivery.flush(destination_id)
    if report.more_due:
        delivery.enqueue_flush_now(destination_id)


@shared_task(**_RETRY)
def relay() -> None:
    """Schedule a flush for every destination with due rows (beat, ``SEGMIX_RELAY_INTERVAL``)."""
    delivery.relay()


@shared_task(**_RETRY)
def prune() -> None:
    """Delete rows past their retention (beat, hourly)."""
    delivery.prune()
