"""The one transaction that makes a request durable (spec §6.2, §6.3, §5.6; docs/pipeline.md).

``store_request`` commits, in one ``transaction.atomic()``: the new events (deduplicated per
``(source, dedup_hash)``), the duplicate counters, the quarantined rejects (upserted by dedup
hash), a ``Delivery`` row per (new event, enabled destination of the source) and the
``IngestRequest`` row. After COMMIT, ``transaction.on_commit`` hints a flush for every
destination that got pending rows. ``log_request`` writes the request-log row of a refused
request, best effort.

The rows themselves are written by :mod:`mappings.ingest.writes`, in bulk (``COPY`` on
PostgreSQL, multi-row ``INSERT`` on SQLite) with the JSON serialised once by orjson (the message
as received reuses the bytes normalisation measured). On PostgreSQL a request costs seven round
trips whatever its size: BEGIN, the deadline with the dedup lookup, the request row with the events'
ids, two for the events' ``COPY``, the deliveries, COMMIT. Round trips are most of the client
CPU a request costs, so statements share them where they can. The source's enabled
destinations come from a one-second in-process cache (``sources.enabled_destinations``).

A connection the database dropped (a restart) is replaced and the work tried once more
(``on_live_connection``, which the source lookup before the transaction uses too). Database
failures raise ``StorageUnavailable`` (the view answers ``503``, ``Retry-After: 5``).
A concurrent twin (the same messageIds committed meanwhile, or a deadlock with it) makes the
whole transaction run once more, when the twin's events are simply duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    connection,
    transaction,
)

from mappings.ingest import writes
from mappings.ingest.rows import insert, prepared
from mappings.ingest.sources import enabled_destinations
from mappings.ingest.types import NormalizedRequest
from mappings.models import IngestRequest

log = logging.getLogger(__name__)
T = TypeVar("T")

# What ingest turns into a 503 (other database errors are bugs: a 500).
_STORAGE_ERRORS = (IntegrityError, OperationalError, InterfaceError, InternalError)
# SQLSTATEs of a lost race with a concurrent twin: retried like an IntegrityError.
_RACE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
# The server ended the session: admin shutdown (a restart), crash shutdown, not accepting yet.
_SESSION_ENDED_SQLSTATES = {"57P01", "57P02", "57P03"}


class StorageUnavailable(Exception):
    """The database could not commit the request; nothing of it was stored (I2)."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What the commit did: new events, duplicates absorbed, rejects quarantined."""

    request_pk: int
    accepted: int
    duplicates: int
    rejected: int
    flushed_destinations: tuple[int, ...]


def store_request(
    source_id: int,
    normalized: NormalizedRequest,
    *,
    received_at: datetime,
    log_fields: dict[str, Any],
) -> StoreResult:
    """Commit ``normalized`` for ``source_id`` in one transaction; raise ``StorageUnavailable``.

    ``log_fields`` are ``IngestRequest`` column values (by attname) for the request-log row; the
    source, status 200 and the counts are filled in here. ``received_at`` is the request stamp.
    """
    return on_live_connection(
        lambda: _commit_racing_twins(source_id, normalized, received_at, log_fields)
    )


def on_live_connection(work: Callable[[], T]) -> T:
    """``work()``, raising ``StorageUnavailable`` for whatever the database answered.

    A connection the database dropped (a restart, a failover, an idle timeout) fails on first
    use, and after a restart every web thread holds one: the first request on each must not be
    refused for it, so ``work`` then runs once more on a new connection. ``work`` must be safe to
    run twice: a read, or a transaction (had its COMMIT landed, dedup makes the second run a
    duplicate).
    """
    for attempt in (1, 2):
        try:
            return work()
        except _STORAGE_ERRORS as exc:
            if attempt == 1 and not isinstance(exc, IntegrityError) and _connection_lost(exc):
                log.info("ingest connection was lost; trying once more on a new connection")
                connection.close()
                continue
            raise StorageUnavailable(str(exc).strip() or type(exc).__name__) from exc
    raise AssertionError("unreachable")


def _commit_racing_twins(
    source_id: int,
    normalized: NormalizedRequest,
    received_at: datetime,
    log_fields: dict[str, Any],
) -> StoreResult:
    """The transaction, run once more if it lost a race with a concurrent twin (the same
    messageIds committed meanwhile, or a deadlock with it): the twin's events are then
    duplicates."""
    try:
        with writes.sqlite_deadline():
            return _store_once(source_id, normalized, received_at, log_fields)
    except (IntegrityError, OperationalError, InternalError) as exc:
        if not isinstance(exc, IntegrityError) and _sqlstate(exc) not in _RACE_SQLSTATES:
            raise
        log.info("ingest transaction raced a concurrent twin; retrying once")
    with writes.sqlite_deadline():
        return _store_once(source_id, normalized, received_at, log_fields)


def _connection_lost(exc: DatabaseError) -> bool:
    """Whether ``exc`` means the session is gone (not merely a failed statement)."""
    state = _sqlstate(exc) or ""
    if state.startswith("08") or state in _SESSION_ENDED_SQLSTATES:
        return True
    raw = connection.connection
    return raw is not None and bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))


def log_request(fields: dict[str, Any]) -> None:
    """Write the request-log row of a refused request. Best effort: never raises.

    Runs outside any ingest transaction, so the refusal stays what it was (a 4xx never turns
    into a 500 because the log could not be written).
    """

    def write() -> None:
        with writes.sqlite_deadline(), transaction.atomic(), connection.cursor() as cursor:
            writes.set_statement_timeout(cursor)
            insert(cursor, IngestRequest, [prepared(IngestRequest, fields)])

    try:
        on_live_connection(write)
    except Exception:  # logging must not change the answer
        log.warning("could not write the request log", exc_info=True)


# --- the transaction ---------------------------------------------------------------------------


def _store_once(
    source_id: int,
    normalized: NormalizedRequest,
    received_at: datetime,
    log_fields: dict[str, Any],
) -> StoreResult:
    if connection.vendor == "postgresql":
        # As text: psycopg formats datetimes in Python (microseconds each, and every delivery
        # row has three), while COPY sends text anyway.
        now = received_at.isoformat()
    else:
        now = connection.ops.adapt_datetimefield_value(received_at)
    destinations = enabled_destinations(source_id)
    with transaction.atomic(), connection.cursor() as cursor:
        hashes = {m.dedup_hash for m in normalized.accepted}
        if hashes:
            existing = writes.existing_events(cursor, source_id, hashes)  # starts the deadline too
        else:
            writes.set_statement_timeout(cursor)
            existing = {}
        bumps: Counter[int] = Counter()
        new: dict[str, writes.NewEvent] = {}
        for m in normalized.accepted:
            if m.dedup_hash in existing:
                bumps[existing[m.dedup_hash]] += 1
            elif m.dedup_hash in new:  # first occurrence in the batch wins (§6.3)
                new[m.dedup_hash].duplicates += 1
            else:
                new[m.dedup_hash] = writes.NewEvent(m)
        duplicates = len(normalized.accepted) - len(new)

        request_row = {
            **log_fields,
            "source_id": source_id,
            "status": 200,
            "accepted": len(new),
            "duplicates": duplicates,
            "rejected": len(normalized.rejected),
        }
        request_pk, event_ids = writes.insert_request_and_events(
            cursor, source_id, request_row, list(new.values()), now
        )
        writes.bump_duplicates(cursor, bumps, now)
        writes.upsert_rejects(cursor, source_id, request_pk, normalized, now)
        flush = writes.insert_deliveries(cursor, destinations, new, event_ids, now)
        if flush:
            transaction.on_commit(lambda: _hint_flush(flush))
    return StoreResult(request_pk, len(new), duplicates, len(normalized.rejected), flush)


def _hint_flush(destination_ids: Iterable[int]) -> None:
    """After COMMIT: ask the delivery side to flush. A hint only: it must never fail ingest.

    ``schedule_flush`` enqueues a flush that runs after the linger window and takes every row
    committed until then; within that window it only answers "already scheduled". So once this
    process has enqueued one, it skips the Redis round trip for the rest of the window.
    """
    try:
        from mappings.delivery.schedule import schedule_flush
    except Exception:  # the delivery package may be absent or broken
        log.warning("no flush hint: mappings.delivery.schedule unavailable", exc_info=True)
        return
    now = time.monotonic()
    for destination_id in destination_ids:
        if _flush_scheduled_until.get(destination_id, 0.0) > now:
            continue
        try:
            if schedule_flush(destination_id) is True:
                linger = max(float(settings.SEGMIX_FLUSH_LINGER), 0.0)
                with _flush_lock:
                    _flush_scheduled_until[destination_id] = now + linger
        except Exception:  # the relay finds the pending rows anyway
            log.warning("flush hint for destination %s failed", destination_id, exc_info=True)


# destination id → monotonic time until which a flush this process enqueued is still lingering
_flush_scheduled_until: dict[int, float] = {}
_flush_lock = threading.Lock()


# --- SQL helpers ---------------------------------------------------------------------------------


def _sqlstate(exc: DatabaseError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)
