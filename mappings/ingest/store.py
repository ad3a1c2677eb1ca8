"""The one transaction that makes a request durable (spec §6.2, §6.3, §5.6; docs/pipeline.md).

``store_request`` commits, in one ``transaction.atomic()``: the new events (deduplicated per
``(source, dedup_hash)``), the duplicate counters, the quarantined rejects (upserted by dedup
hash), a ``Delivery`` row per (new event, enabled destination of the source) and the
``IngestRequest`` row. After COMMIT, ``transaction.on_commit`` hints a flush for every
destination that got pending rows. ``log_request`` writes the request-log row of a refused
request, best effort.

Rows are written in bulk (``COPY`` on PostgreSQL, multi-row ``INSERT`` on SQLite) with the JSON
serialised once by orjson (the message as received reuses the bytes normalisation measured): no
model instances, no per-message queries. On PostgreSQL a request costs seven round trips
whatever its size: BEGIN, the deadline with the dedup lookup, the request row with the events'
ids, two for the events' ``COPY``, the deliveries, COMMIT. Round trips are most of the client
CPU a request costs, so statements share them where they can. The source's enabled
destinations come from a one-second in-process cache (``sources.enabled_destinations``).

Database failures raise ``StorageUnavailable`` (the view answers ``503``, ``Retry-After: 5``).
A concurrent twin (the same messageIds committed meanwhile, or a deadlock with it) makes the
whole transaction run once more, when the twin's events are simply duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
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

from mappings.engine.integrations import MIXPANEL_KEYS, integrations_decision
from mappings.ingest.jsontools import dumps_compact
from mappings.ingest.rows import INSERT_CHUNK, copy_rows, insert, insert_from_json, prepared, q
from mappings.ingest.sources import enabled_destinations
from mappings.ingest.types import AcceptedMessage, NormalizedRequest
from mappings.models import Delivery, Destination, Event, IngestRequest, RejectedMessage

log = logging.getLogger(__name__)

# The names a destination kind answers to in `integrations` (spec §5.6).
INTEGRATION_KEYS: dict[str, Sequence[str]] = {Destination.KIND_MIXPANEL: MIXPANEL_KEYS}
DEADLINE_MS = 4000  # §6.2: no COMMIT by 4 s → 503 (lock waits included)
INDEXED_TEXT = 255  # width of Event's search columns; the full value is in `message`
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
    for attempt in (1, 2):
        try:
            with _deadline():
                return _store_once(source_id, normalized, received_at, log_fields)
        except IntegrityError as exc:
            if attempt == 2:
                raise StorageUnavailable("duplicate key after retry") from exc
        except (OperationalError, InterfaceError, InternalError) as exc:
            if attempt == 1 and _connection_lost(exc):
                # A connection the database dropped (a restart, a failover, an idle timeout)
                # fails on first use; a new one may well work, so try once more before a 503.
                # Had the COMMIT itself landed, dedup makes the second attempt a duplicate.
                log.info("ingest connection was lost; retrying once on a new connection")
                connection.close()
                continue
            if attempt == 2 or _sqlstate(exc) not in _RACE_SQLSTATES:
                raise StorageUnavailable(str(exc).strip() or type(exc).__name__) from exc
        log.info("ingest transaction raced a concurrent twin; retrying once")
    raise AssertionError("unreachable")


def _connection_lost(exc: DatabaseError) -> bool:
    """Whether ``exc`` means the session is gone (not merely a failed statement)."""
    state = _sqlstate(exc) or ""
    if state.startswith("08") or state in _SESSION_ENDED_SQLSTATES:
        return True
    raw = connection.connection
    return raw is not None and bool(getattr(raw, "broken", False) or raw.closed)


def log_request(fields: dict[str, Any]) -> None:
    """Write the request-log row of a refused request. Best effort: never raises.

    Runs outside any ingest transaction, so the refusal stays what it was (a 4xx never turns
    into a 500 because the log could not be written).
    """
    try:
        with _deadline(), transaction.atomic(), connection.cursor() as cursor:
            _set_statement_timeout(cursor)
            insert(cursor, IngestRequest, [prepared(IngestRequest, fields)])
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
            existing = _existing_events(cursor, source_id, hashes)  # starts the deadline too
        else:
            _set_statement_timeout(cursor)
            existing = {}
        bumps: Counter[int] = Counter()
        new: dict[str, _NewEvent] = {}
        for m in normalized.accepted:
            if m.dedup_hash in existing:
                bumps[existing[m.dedup_hash]] += 1
            elif m.dedup_hash in new:  # first occurrence in the batch wins (§6.3)
                new[m.dedup_hash].duplicates += 1
            else:
                new[m.dedup_hash] = _NewEvent(m)
        duplicates = len(normalized.accepted) - len(new)

        request_row = {
            **log_fields,
            "source_id": source_id,
            "status": 200,
            "accepted": len(new),
            "duplicates": duplicates,
            "rejected": len(normalized.rejected),
        }
        request_pk, event_ids = _insert_request_and_events(
            cursor, source_id, request_row, list(new.values()), now
        )
        _bump_duplicates(cursor, bumps, now)
        _upsert_rejects(cursor, source_id, request_pk, normalized, now)
        flush = _insert_deliveries(cursor, destinations, new, event_ids, now)
        if flush:
            transaction.on_commit(lambda: _hint_flush(flush))
    return StoreResult(request_pk, len(new), duplicates, len(normalized.rejected), flush)


class _NewEvent:
    """A message to store as a new event, and how often it repeated later in its batch."""

    __slots__ = ("accepted", "duplicates")

    def __init__(self, accepted: AcceptedMessage) -> None:
        self.accepted = accepted
        self.duplicates = 0


def _existing_events(cursor: Any, source_id: int, hashes: set[str]) -> dict[str, int]:
    """``dedup_hash → id`` of this source's committed events among ``hashes``.

    The transaction's first statement, so on PostgreSQL it also starts §6.2's deadline, in the
    same round trip when psycopg binds parameters client-side (Django's default).
    """
    table, dedup_hash, pk, source = (
        q(Event._meta.db_table),
        q("dedup_hash"),
        q("id"),
        q("source_id"),
    )
    ordered = sorted(hashes)
    if connection.vendor == "postgresql":
        # One text parameter: psycopg quotes each of a hundred parameters in Python otherwise.
        # One probe of the unique index per hash, whatever the statistics say: LIMIT keeps the
        # subquery from being flattened into a join the planner may answer another way. Asked
        # as ``dedup_hash = ANY(…)``, a table that grew since its last ANALYZE had the planner
        # filter every event of the source instead (15 ms of PostgreSQL CPU per 100-message
        # request, against 0.8 ms).
        lookup = (
            f"SELECT h.hash, e.{pk} FROM unnest(string_to_array(%s, ',')) AS h(hash) "
            f"CROSS JOIN LATERAL (SELECT {pk} FROM {table} WHERE {source} = %s "
            f"AND {dedup_hash} = h.hash LIMIT 1) AS e"
        )
        params = [",".join(ordered), source_id]
        if isinstance(cursor.cursor, psycopg.ClientCursor):
            cursor.execute(f"{_STATEMENT_TIMEOUT}; {lookup}", params)  # two results
            cursor.nextset()
        else:
            _set_statement_timeout(cursor)
            cursor.execute(lookup, params)
        return dict(cursor.fetchall())
    found: dict[str, int] = {}
    for start in range(0, len(ordered), INSERT_CHUNK):
        chunk = ordered[start : start + INSERT_CHUNK]
        cursor.execute(
            f"SELECT {dedup_hash}, {pk} FROM {table} WHERE {source} = %s AND {dedup_hash} IN "
            f"({', '.join(['%s'] * len(chunk))})",
            [source_id, *chunk],
        )
        found.update(cursor.fetchall())
    return found


# Event columns in the order ``_event_values`` gives them (attnames).
EVENT_COLUMNS = (
    "source_id",
    "request_id",
    "batch_index",
    "message_id",
    "message_id_assigned",
    "dedup_hash",
    "type",
    "event_name",
    "user_id",
    "anonymous_id",
    "group_id",
    "received_at",
    "message",
    "raw",
    "warnings",
    "duplicate_count",
    "last_seen_at",
)


def _insert_request_and_events(
    cursor: Any,
    source_id: int,
    request_row: dict[str, Any],
    new: list[_NewEvent],
    now: Any,
) -> tuple[int, dict[str, int]]:
    """Write the request-log row and the new events: ``(request pk, dedup_hash → event id)``."""
    request = prepared(IngestRequest, request_row)
    if connection.vendor != "postgresql":
        (request_pk,), *_ = insert(cursor, IngestRequest, [request], "id")
        if not new:
            return request_pk, {}
        returned = insert(
            cursor,
            Event,
            [
                dict(zip(EVENT_COLUMNS, _event_values(source_id, request_pk, e, now), strict=True))
                for e in new
            ],
            f"{q('id')}, {q('dedup_hash')}",
        )
        return request_pk, {dedup_hash: pk for pk, dedup_hash in returned}
    # The request row's INSERT also draws the events' ids from their sequence (COPY returns
    # nothing): one round trip for both.
    events_table = Event._meta.db_table.replace("'", "''")
    (request_pk, ids), *_ = insert(
        cursor,
        IngestRequest,
        [request],
        f"{q('id')}, ARRAY(SELECT nextval(pg_get_serial_sequence('{events_table}', 'id')) "
        f"FROM generate_series(1, {len(new)}))",
    )
    ids = sorted(ids)
    if new:
        copy_rows(
            cursor,
            Event,
            ("id", *EVENT_COLUMNS),
            (
                (pk, *_event_values(source_id, request_pk, e, now))
                for pk, e in zip(ids, new, strict=True)
            ),
        )
    return request_pk, {e.accepted.dedup_hash: pk for pk, e in zip(ids, new, strict=True)}


def _event_values(source_id: int, request_pk: int, new: _NewEvent, now: Any) -> tuple[Any, ...]:
    """One ``Event`` row in ``EVENT_COLUMNS`` order, as database values."""
    m = new.accepted
    message = m.message
    name = message.get("event") if m.type == "track" else message.get("name")
    received_json = getattr(m, "received_json", None)  # normalize.MeasuredMessage
    return (
        source_id,
        request_pk,
        m.index,
        m.message_id,
        m.message_id_assigned,
        m.dedup_hash,
        m.type,
        _indexed(name),
        _indexed(message.get("userId")),
        _indexed(message.get("anonymousId")),
        _indexed(message.get("groupId")),
        now,
        dumps_compact(message).decode(),
        (received_json or dumps_compact(m.received)).decode(),
        dumps_compact(m.warnings).decode() if m.warnings else "[]",
        new.duplicates,
        now if new.duplicates else None,
    )


def _indexed(value: Any) -> str:
    return value[:INDEXED_TEXT] if type(value) is str else ""


def _bump_duplicates(cursor: Any, bumps: Counter[int], now: Any) -> None:
    by_count: dict[int, list[int]] = {}
    for pk, times in bumps.items():
        by_count.setdefault(times, []).append(pk)
    for times, pks in sorted(by_count.items()):
        cursor.execute(
            f"UPDATE {q(Event._meta.db_table)} SET {q('duplicate_count')} = "
            f"{q('duplicate_count')} + %s, {q('last_seen_at')} = %s "
            f"WHERE {q('id')} IN ({', '.join(['%s'] * len(pks))})",
            [times, now, *sorted(pks)],
        )


def _upsert_rejects(
    cursor: Any, source_id: int, request_pk: int, normalized: NormalizedRequest, now: Any
) -> None:
    """Quarantine rejects; one with a messageId already quarantined bumps its ``count``."""
    keyed: dict[str, dict[str, Any]] = {}
    unkeyed: list[dict[str, Any]] = []
    for r in normalized.rejected:
        row = {
            "source_id": source_id,
            "request_id": request_pk,
            "batch_index": r.index,
            "message_id": r.message_id or "",
            "dedup_hash": None,
            "code": r.code,
            "message": r.message,
            "field": (r.field or "")[:100],
            "raw": r.raw,
            "count": 1,
            "received_at": now,
            "last_seen_at": now,
        }
        if r.message_id is None:
            unkeyed.append(row)
            continue
        dedup_hash = hashlib.sha256(r.message_id.encode("utf-8")).hexdigest()
        if dedup_hash in keyed:
            keyed[dedup_hash]["count"] += 1
        else:
            keyed[dedup_hash] = {**row, "dedup_hash": dedup_hash}
    if unkeyed:
        insert(cursor, RejectedMessage, unkeyed)
    if keyed:
        table = q(RejectedMessage._meta.db_table)
        count, seen = q("count"), q("last_seen_at")
        insert(
            cursor,
            RejectedMessage,
            keyed.values(),
            on_conflict=(
                f"ON CONFLICT ({q('source_id')}, {q('dedup_hash')}) "
                f"WHERE {q('dedup_hash')} IS NOT NULL DO UPDATE SET "
                f"{count} = {table}.{count} + excluded.{count}, {seen} = excluded.{seen}"
            ),
        )


# Delivery columns in the order ``_insert_deliveries`` gives them (attnames); the timestamps
# are the request stamp in every row.
DELIVERY_COLUMNS = ("event_id", "destination_id", "status", "reason")


def _insert_deliveries(
    cursor: Any,
    destinations: Sequence[tuple[int, str]],
    new: dict[str, _NewEvent],
    event_ids: dict[str, int],
    now: Any,
) -> tuple[int, ...]:
    """One outbox row per (new event, destination); the destinations that got pending rows."""
    if not destinations or not new:
        return ()
    rows: list[tuple[Any, ...]] = []
    pending: set[int] = set()
    for dedup_hash, event in new.items():
        integrations = event.accepted.message.get("integrations")
        decisions: dict[str, tuple[bool, str | None]] = {}
        for dest_id, kind in destinations:
            if not integrations:  # the usual `{}`: nothing to decide
                enabled, key = True, None
            elif kind in decisions:
                enabled, key = decisions[kind]
            else:
                enabled, key = decisions[kind] = integrations_decision(
                    integrations, INTEGRATION_KEYS.get(kind, ())
                )
            if enabled:
                pending.add(dest_id)
            rows.append(
                (
                    event_ids[dedup_hash],
                    dest_id,
                    Delivery.PENDING if enabled else Delivery.FILTERED,
                    "" if enabled else f"integrations: {key}",
                )
            )
    if connection.vendor == "postgresql":
        times = {"created_at": now, "updated_at": now, "next_attempt_at": now}
        insert_from_json(cursor, Delivery, DELIVERY_COLUMNS, rows, times)
    else:
        insert(
            cursor,
            Delivery,
            [
                {
                    **dict(zip(DELIVERY_COLUMNS, row, strict=True)),
                    "created_at": now,
                    "updated_at": now,
                    "next_attempt_at": now,
                }
                for row in rows
            ],
        )
    return tuple(sorted(pending))


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


# Covers lock waits too: a twin blocked on the unique index gives up with the deadline.
_STATEMENT_TIMEOUT = f"SET LOCAL statement_timeout = {DEADLINE_MS}"


def _set_statement_timeout(cursor: Any) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(_STATEMENT_TIMEOUT)


@contextmanager
def _deadline() -> Iterator[None]:
    """On SQLite, wait at most ``DEADLINE_MS`` for the write lock (settings allow 20 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    configured = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {DEADLINE_MS}")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(configured * 1000)}")
        except DatabaseError:
            log.warning("could not restore the SQLite busy timeout", exc_info=True)
