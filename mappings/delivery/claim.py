"""Claiming outbox rows with leases, and the pause state of a destination.

A claim sets ``lease_until``: the rows are the worker's until then. A worker that dies simply
lets its lease expire and the rows become due again; nothing needs cleaning up.

Only one flush of a destination runs at a time (:func:`exclusive_flush`: per-profile order needs
it). The claim itself stays safe without that lock: PostgreSQL claims with ``FOR UPDATE SKIP
LOCKED`` so concurrent claimers take disjoint rows without waiting; SQLite has no SKIP LOCKED, but
its writers are serialised (``transaction_mode = IMMEDIATE``), so a plain select-then-update
inside one transaction is already exclusive.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..models import Delivery, Destination


def all_due(now: datetime) -> QuerySet[Delivery]:
    """Open rows that a worker may take now: due and not leased."""
    return Delivery.objects.filter(status__in=Delivery.OPEN, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )


def due(destination_id: int, now: datetime) -> QuerySet[Delivery]:
    """Open rows of one destination that a worker may take now."""
    return all_due(now).filter(destination_id=destination_id)


def claim(destination_id: int, now: datetime, *, limit: int, lease_seconds: float) -> list[int]:
    """Lease up to ``limit`` due rows, longest due first; returns their ids (ascending).

    Ordered by due time, then id (``delivery_due`` index): pending rows by their arrival, a
    retry from when it became due.
    """
    with transaction.atomic():
        rows = due(destination_id, now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("id", flat=True)[:limit])
        if ids:
            Delivery.objects.filter(id__in=ids).update(
                lease_until=now + timedelta(seconds=lease_seconds)
            )
    return sorted(ids)


# One flush at a time ----------------------------------------------------------------------------

# First key of the two-key advisory lock: segmix's namespace ("sm"); the second is the destination.
FLUSH_LOCK_NAMESPACE = 0x736D


@contextmanager
def exclusive_flush(destination_id: int) -> Iterator[bool]:
    """Yield whether this process may flush ``destination_id`` now (``False``: one is running).

    Per-profile order (spec §14.3) needs one flush at a time per destination: a second, concurrent
    flush could send a newer update of a profile while the first is about to be told to retry the
    older one. The linger window and the relay can both enqueue a flush while one runs, so the
    exclusion is here, and it must not outlive a killed worker:

    * PostgreSQL: a session advisory lock, released by the server when the session ends;
    * SQLite (one machine by nature): ``flock`` on a file beside the database, released by the
      kernel when the process dies; an in-memory database has one process, nothing to exclude.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [FLUSH_LOCK_NAMESPACE, destination_id]
            )
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [FLUSH_LOCK_NAMESPACE, destination_id]
                    )
        return
    path = _lock_file(destination_id)
    if path is None:
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def _lock_file(destination_id: int) -> Path | None:
    if connection.is_in_memory_db():
        return None
    database = Path(connection.settings_dict["NAME"])
    return database.with_name(f"{database.name}.flush-{destination_id}.lock")


# Pause ------------------------------------------------------------------------------------------

# A destination is paused while ``paused_at`` is set and it was not saved since: saving its
# settings (``updated_at`` is ``auto_now``) resumes it, as spec §15 asks. The pause itself is
# written with ``update()``, which leaves ``updated_at`` alone.
UNPAUSED = Q(paused_at__isnull=True) | Q(updated_at__gt=F("paused_at"))


def is_paused(destination: Destination) -> bool:
    return destination.paused_at is not None and destination.updated_at <= destination.paused_at


def pause(destination: Destination, reason: str) -> None:
    """Stop dequeuing for ``destination`` until its settings change or :func:`resume`."""
    now = timezone.now()
    Destination.objects.filter(pk=destination.pk).update(paused_at=now, pause_reason=reason)
    destination.paused_at, destination.pause_reason = now, reason


def clear_pause(destination: Destination) -> None:
    Destination.objects.filter(pk=destination.pk).update(paused_at=None, pause_reason="")
    destination.paused_at, destination.pause_reason = None, ""
