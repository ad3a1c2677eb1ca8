"""The one transaction that makes a request durable (spec §6.2, §6.3, §5.6; docs/pipeline.md).

``store_request`` commits, in one ``transaction.atomic()``: the new events (deduplicated per
``(source, dedup_hash)``), the duplicate counters, the quarantined rejects (upserted by dedup
hash), a ``Delivery`` row per (new event, enabled destination of the source) and the
``IngestRequest`` row. After COMMIT, ``transaction.on_commit`` hints a flush for every
destination that got pending rows. ``log_request`` writes the request-log row of a refused
request, best effort.

Rows are written in bulk (``rows.bulk_insert``: ``COPY`` on PostgreSQL, multi-row ``INSERT`` on
SQLite) with the JSON serialised once by orjson: no model instances, no per-message queries. A
request costs about nine round trips whatever its size.

Database failures raise ``StorageUnavailable`` (the view answers ``503``, ``Retry-After: 5``).
A concurrent twin (the same messageIds committed meanwhile, or a deadlock with it) makes the
whole transaction run once more, when the twin's events are simply duplicates.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from mappings.ingest.rows import INSERT_CHUNK, bulk_insert, insert, prepared, q
from mappings.ingest.types import NormalizedRequest
from mappings.models import Delivery, Destination, Event, IngestRequest, RejectedMessage

log = logging.getLogger(__name__)

# The names a destination kind answers to in `integrations` (spec §5.6).
INTEGRATION_KEYS: dict[str, Sequence[str]] = {Destination.KIND_MIXPANEL: MIXPANEL_KEYS}
DEADLINE_MS = 4000  # §6.2: no COMMIT by 4 s → 503 (lock waits included)
INDEXED_TEXT = 255  # width of Event's search columns; the full value is in `message`
# SQLSTATEs of a lost race with a concurrent twin: retried like an IntegrityError.
_RACE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


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
            if attempt == 2 or _sqlstate(exc) not in _RACE_SQLSTATES:
                raise StorageUnavailable(str(exc).strip() or type(exc).__name__) from exc
        log.info("ingest transaction raced a concurrent twin; retrying once")
    raise AssertionError("unreachable")


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
    ops = connection.ops
    now = ops.adapt_datetimefield_value(received_at)
    with transaction.atomic(), connection.cursor() as cursor:
        _set_statement_timeout(cursor)
        destinations = _destinations(cursor, source_id)

        hashes = {m.dedup_hash for m in normalized.accepted}
        existing = _existing_events(cursor, source_id, hashes) if hashes else {}
        bumps: Counter[int] = Counter()
        new_rows: dict[str, dict[str, Any]] = {}
        for m in normalized.accepted:
            if m.dedup_hash in existing:
                bumps[existing[m.dedup_hash]] += 1
            elif m.dedup_hash in new_rows:  # first occurrence in the batch wins (§6.3)
                new_rows[m.dedup_hash]["duplicate_count"] += 1
                new_rows[m.dedup_hash]["last_seen_at"] = now
            else:
                new_rows[m.dedup_hash] = _event_row(source_id, m, now)
        duplicates = len(normalized.accepted) - len(new_rows)

        request_row = {
            **log_fields,
            "source_id": source_id,
            "status": 200,
            "accepted": len(new_rows),
            "duplicates": duplicates,
            "rejected": len(normalized.rejected),
        }
        request_pk = insert(cursor, IngestRequest, [prepared(IngestRequest, request_row)], "id")
        request_pk = request_pk[0][0]

        for row in new_rows.values():
            row["request_id"] = request_pk
        event_ids = bulk_insert(cursor, Event, list(new_rows.values()), key="dedup_hash")
        _bump_duplicates(cursor, bumps, now)
        _upsert_rejects(cursor, source_id, request_pk, normalized, now)
        flush = _insert_deliveries(cursor, destinations, new_rows, event_ids, now)
        if flush:
            transaction.on_commit(lambda: _hint_flush(flush))
    return StoreResult(request_pk, len(new_rows), duplicates, len(normalized.rejected), flush)


def _destinations(cursor: Any, source_id: int) -> list[tuple[int, str]]:
    """``(id, kind)`` of the source's enabled destinations, read inside the transaction."""
    dest = Destination._meta
    link = Destination.sources.through._meta
    cursor.execute(
        f"SELECT d.{q('id')}, d.{q('kind')} FROM {q(dest.db_table)} d "
        f"JOIN {q(link.db_table)} l ON l.{q('destination_id')} = d.{q('id')} "
        f"WHERE l.{q('source_id')} = %s AND d.{q('enabled')} ORDER BY d.{q('id')}",
        [source_id],
    )
    return [(pk, kind) for pk, kind in cursor.fetchall()]


def _existing_events(cursor: Any, source_id: int, hashes: set[str]) -> dict[str, int]:
    """``dedup_hash → id`` of this source's committed events among ``hashes``."""
    found: dict[str, int] = {}
    ordered = sorted(hashes)
    for start in range(0, len(ordered), INSERT_CHUNK):
        chunk = ordered[start : start + INSERT_CHUNK]
        cursor.execute(
            f"SELECT {q('dedup_hash')}, {q('id')} FROM {q(Event._meta.db_table)} "
            f"WHERE {q('source_id')} = %s AND {q('dedup_hash')} IN "
            f"({', '.join(['%s'] * len(chunk))})",
            [source_id, *chunk],
        )
        found.update(cursor.fetchall())
    return found


def _event_row(source_id: int, m: Any, now: Any) -> dict[str, Any]:
    message = m.message
    name = message.get("event") if m.type == "track" else message.get("name")
    return {
        "source_id": source_id,
        "batch_index": m.index,
        "message_id": m.message_id,
        "message_id_assigned": m.message_id_assigned,
        "dedup_hash": m.dedup_hash,
        "type": m.type,
        "event_name": _indexed(name),
        "user_id": _indexed(message.get("userId")),
        "anonymous_id": _indexed(message.get("anonymousId")),
        "group_id": _indexed(message.get("groupId")),
        "received_at": now,
        "message": dumps_compact(message).decode(),
        "raw": dumps_compact(m.received).decode(),
        "warnings": dumps_compact(m.warnings).decode(),
        "duplicate_count": 0,
        "last_seen_at": None,
        # Not a column (``bulk_insert`` writes model fields only): kept for the routing decision.
        "_integrations": message.get("integrations"),
    }


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


def _insert_deliveries(
    cursor: Any,
    destinations: list[tuple[int, str]],
    new_rows: dict[str, dict[str, Any]],
    event_ids: dict[str, int],
    now: Any,
) -> tuple[int, ...]:
    """One outbox row per (new event, destination); the destinations that got pending rows."""
    if not destinations or not new_rows:
        return ()
    rows: list[dict[str, Any]] = []
    pending: set[int] = set()
    for dedup_hash, event in new_rows.items():
        integrations = event["_integrations"]
        decisions: dict[str, tuple[bool, str | None]] = {}
        for dest_id, kind in destinations:
            if kind not in decisions:
                decisions[kind] = integrations_decision(
                    integrations, INTEGRATION_KEYS.get(kind, ())
                )
            enabled, key = decisions[kind]
            if enabled:
                pending.add(dest_id)
            rows.append(
                {
                    "event_id": event_ids[dedup_hash],
                    "destination_id": dest_id,
                    "status": Delivery.PENDING if enabled else Delivery.FILTERED,
                    "reason": "" if enabled else f"integrations: {key}",
                    "created_at": now,
                    "updated_at": now,
                    "next_attempt_at": now,
                }
            )
    bulk_insert(cursor, Delivery, rows)
    return tuple(sorted(pending))


def _hint_flush(destination_ids: Iterable[int]) -> None:
    """After COMMIT: ask the delivery side to flush. A hint only: it must never fail ingest."""
    try:
        from mappings.delivery.schedule import schedule_flush
    except Exception:  # the delivery package may be absent or broken
        log.warning("no flush hint: mappings.delivery.schedule unavailable", exc_info=True)
        return
    for destination_id in destination_ids:
        try:
            schedule_flush(destination_id)
        except Exception:  # the relay finds the pending rows anyway
            log.warning("flush hint for destination %s failed", destination_id, exc_info=True)


# --- SQL helpers ---------------------------------------------------------------------------------


def _sqlstate(exc: DatabaseError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def _set_statement_timeout(cursor: Any) -> None:
    # Covers lock waits too: a twin blocked on the unique index gives up with the deadline.
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL statement_timeout = {DEADLINE_MS}")


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
