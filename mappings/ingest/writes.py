"""The rows one ingest transaction writes (``store.store_request`` runs them in one transaction).

The dedup lookup, the request-log row with the events (``COPY`` on PostgreSQL), the duplicate
counters, the quarantined rejects and the ``Delivery`` outbox rows, each in bulk with its JSON
serialised once by orjson: no model instances, no per-message queries. Every function takes the
transaction's cursor; none commits. Also here: the §6.2 deadline on both databases.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DatabaseError, connection

from mappings.engine.integrations import MIXPANEL_KEYS, integrations_decision
from mappings.ingest.rows import INSERT_CHUNK, copy_rows, insert, insert_from_json, prepared, q
from mappings.ingest.types import AcceptedMessage, NormalizedRequest
from mappings.jsoncodec import dumps_compact
from mappings.models import Delivery, Destination, Event, IngestRequest, RejectedMessage

log = logging.getLogger(__name__)

# The names a destination kind answers to in `integrations` (spec §5.6).
INTEGRATION_KEYS: dict[str, Sequence[str]] = {Destination.KIND_MIXPANEL: MIXPANEL_KEYS}
DEADLINE_MS = 4000  # §6.2: no COMMIT by 4 s → 503 (lock waits included)
INDEXED_TEXT = 255  # width of Event's search columns; the full value is in `message`
# Covers lock waits too: a twin blocked on the unique index gives up with the deadline.
STATEMENT_TIMEOUT = f"SET LOCAL statement_timeout = {DEADLINE_MS}"


def set_statement_timeout(cursor: Any) -> None:
    """The §6.2 deadline on PostgreSQL (its SQLite half is :func:`sqlite_deadline`)."""
    if connection.vendor == "postgresql":
        cursor.execute(STATEMENT_TIMEOUT)


@contextmanager
def sqlite_deadline() -> Iterator[None]:
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


class NewEvent:
    """A message to store as a new event, and how often it repeated later in its batch."""

    __slots__ = ("accepted", "duplicates")

    def __init__(self, accepted: AcceptedMessage) -> None:
        self.accepted = accepted
        self.duplicates = 0


def existing_events(cursor: Any, source_id: int, hashes: set[str]) -> dict[str, int]:
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
            cursor.execute(f"{STATEMENT_TIMEOUT}; {lookup}", params)  # two results
            cursor.nextset()
        else:
            set_statement_timeout(cursor)
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


def insert_request_and_events(
    cursor: Any,
    source_id: int,
    request_row: dict[str, Any],
    new: list[NewEvent],
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


def _event_values(source_id: int, request_pk: int, new: NewEvent, now: Any) -> tuple[Any, ...]:
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


def bump_duplicates(cursor: Any, bumps: Counter[int], now: Any) -> None:
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


def upsert_rejects(
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


# Delivery columns in the order ``insert_deliveries`` gives them (attnames); the timestamps
# are the request stamp in every row.
DELIVERY_COLUMNS = ("event_id", "destination_id", "status", "reason")


def insert_deliveries(
    cursor: Any,
    destinations: Sequence[tuple[int, str]],
    new: dict[str, NewEvent],
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
    times = {"created_at": now, "updated_at": now, "next_attempt_at": now}
    if connection.vendor == "postgresql":
        insert_from_json(cursor, Delivery, DELIVERY_COLUMNS, rows, times)
    else:
        insert(
            cursor,
            Delivery,
            [{**dict(zip(DELIVERY_COLUMNS, row, strict=True)), **times} for row in rows],
        )
    return tuple(sorted(pending))
