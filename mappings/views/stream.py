"""The Source Debugger's stream: accepted events and quarantined rejects, newest first.

Order (spec §7.1): ``received_at``, then events above rejects of the same instant, then id. Two
kinds of cursor:

* **newer** (live polling): the highest event id and reject id shown. Ids grow with every insert,
  so "id above the newest shown" is one indexed range per table;
* **older** (paging): a :class:`~mappings.forms.debugger.Cursor` at the last row shown, a keyset
  over ``(received_at, kind, id)``.

Filters are exact and indexed (``forms.debugger``). Rows carry display-ready text from
:mod:`.display`; payload data never reaches a URL (links use our ids).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse

from ..forms.debugger import EVENT_ONLY_FIELDS, INDEXED, TYPES, Cursor, message_id_hash
from ..models import Delivery, Event, IngestRequest, RejectedMessage, Source
from . import display

PAGE = 50  # rows of a page load or an "older" page
LIVE_MAX = 500  # rows the live view holds; also the most one poll returns
COUNT_CAP = 1000  # "N new events" counts up to this, then says "1000+"
FAILED_REQUESTS = 200  # the failed requests panel lists the latest this many
REFUSED_STATUSES = (400, 413, 429)  # refused requests whose write key was known (spec §7.1)
EXCERPT = 2048

# Delivery states as the chips show them (spec §7.1: pending/filtered/retrying/delivered/failed).
CHIP_LABELS = {
    Delivery.PENDING: "pending",
    Delivery.RETRYING: "retrying",
    Delivery.FILTERED: "filtered",
    Delivery.SKIPPED: "skipped",
    Delivery.DELIVERED: "delivered",
    Delivery.PARTIAL: "partly delivered",
    Delivery.FAILED: "failed",
}
CHIP_CLASSES = {
    Delivery.DELIVERED: "ok",
    Delivery.FAILED: "err",
    Delivery.PARTIAL: "warn",
    Delivery.RETRYING: "warn",
    Delivery.FILTERED: "muted",
    Delivery.SKIPPED: "muted",
}


@dataclass(frozen=True)
class Chip:
    destination: str
    label: str
    css: str


@dataclass
class StreamRow:
    """One line of the stream (an accepted event or a reject)."""

    kind: str  # "event" | "reject"
    pk: int
    received_at: datetime
    type: str
    summary: str
    user_id: str
    anonymous_id: str
    library: str
    status: str  # "accepted" | "rejected"
    code: str = ""
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    chips: list[Chip] = field(default_factory=list)
    detail_url: str = ""

    @property
    def cursor(self) -> Cursor:
        return Cursor.of(self.received_at, self.kind, self.pk)

    @property
    def type_css(self) -> str:
        # A class from a fixed list: a reject's "type" is whatever the client sent.
        return self.type if self.type in TYPES else "other"

    @property
    def dom_id(self) -> str:
        return f"{'ev' if self.kind == 'event' else 'rj'}-{self.pk}"


def wants_events(filters: dict[str, str]) -> bool:
    return filters.get("status") != "rejected"


def wants_rejects(filters: dict[str, str]) -> bool:
    # Rejects have no parsed type or ids: any event-only filter excludes them.
    if filters.get("status") in ("accepted", "duplicate"):
        return False
    return not any(filters.get(name) for name in EVENT_ONLY_FIELDS)


def event_rows(source: Source, filters: dict[str, str]) -> QuerySet[Event]:
    rows = Event.objects.filter(source=source)
    for name, column in (
        ("type", "type"),
        ("event", "event_name"),
        ("user_id", "user_id"),
        ("anonymous_id", "anonymous_id"),
        ("group_id", "group_id"),
    ):
        if filters.get(name):
            rows = rows.filter(**{column: filters[name][:INDEXED]})
    if filters.get("message_id"):
        rows = rows.filter(dedup_hash=message_id_hash(filters["message_id"]))
    if filters.get("status") == "duplicate":
        rows = rows.filter(duplicate_count__gt=0)
    return rows


def reject_rows(source: Source, filters: dict[str, str]) -> QuerySet[RejectedMessage]:
    rows = RejectedMessage.objects.filter(source=source)
    if filters.get("message_id"):
        rows = rows.filter(dedup_hash=message_id_hash(filters["message_id"]))
    return rows


def _older_than(cursor: Cursor, rank: int) -> Q:
    """Rows of one table (``rank``) that sort below ``cursor``."""
    moment = cursor.moment
    same_instant = Q(received_at=moment)
    if rank < cursor.kind_rank:
        tie = same_instant  # a reject sorts below an event of the same instant
    elif rank == cursor.kind_rank:
        tie = same_instant & Q(pk__lt=cursor.pk)
    else:
        tie = Q(pk__in=[])
    return Q(received_at__lt=moment) | tie


def _window(
    rows: QuerySet[Any],
    rank: int,
    before: Cursor | None,
    after: int | None,
    upto: int | None,
) -> QuerySet[Any]:
    """``rows`` of one table (``rank``: 1 events, 0 rejects) below ``before``, with ids above
    ``after`` and at most ``upto``."""
    if before:
        rows = rows.filter(_older_than(before, rank))
    if after is not None:
        rows = rows.filter(pk__gt=after)
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    return rows


def page(
    source: Source,
    filters: dict[str, str],
    *,
    before: Cursor | None = None,
    after_event: int | None = None,
    after_reject: int | None = None,
    upto: tuple[int, int] | None = None,
    limit: int = PAGE,
) -> list[StreamRow]:
    """Up to ``limit`` rows, newest first: the latest, those below ``before``, or (polling)
    those with ids above ``after_event`` / ``after_reject``.

    ``upto`` = (event id, reject id) caps the ids, so a page and the polls that follow it
    (starting above the same ids) never show a row twice.
    """
    events: list[Event] = []
    rejects: list[RejectedMessage] = []
    if wants_events(filters):
        rows = _window(
            event_rows(source, filters), 1, before, after_event, upto[0] if upto else None
        )
        events = list(
            rows.order_by("-received_at", "-id")
            .defer("raw")
            .prefetch_related(
                Prefetch(
                    "deliveries",
                    queryset=Delivery.objects.select_related("destination").only(
                        "status", "event_id", "destination__name"
                    ),
                )
            )[:limit]
        )
    if wants_rejects(filters):
        rows_r = _window(
            reject_rows(source, filters), 0, before, after_reject, upto[1] if upto else None
        )
        rejects = list(rows_r.order_by("-received_at", "-id")[:limit])
    merged = [event_row(e) for e in events] + [reject_row(r) for r in rejects]
    merged.sort(key=lambda row: row.cursor, reverse=True)
    return merged[:limit]


def count_newer(
    source: Source, filters: dict[str, str], after_event: int, after_reject: int
) -> int:
    """How many rows arrived above the cursors (for "N new events" while paused), capped."""
    total = 0
    if wants_events(filters):
        ids = event_rows(source, filters).filter(pk__gt=after_event).values("pk")[:COUNT_CAP]
        total += len(ids)
    if wants_rejects(filters) and total < COUNT_CAP:
        ids_r = reject_rows(source, filters).filter(pk__gt=after_reject).values("pk")[:COUNT_CAP]
        total += len(ids_r)
    return min(total, COUNT_CAP)


def high_water(source: Source) -> tuple[int, int]:
    """The newest event and reject ids of ``source`` (where live polling starts)."""
    event = Event.objects.filter(source=source).order_by("-pk").values_list("pk", flat=True)
    reject = RejectedMessage.objects.filter(source=source).order_by("-pk")
    return event.first() or 0, reject.values_list("pk", flat=True).first() or 0


def event_row(event: Event) -> StreamRow:
    message = event.message if isinstance(event.message, dict) else {}
    chips = [
        Chip(
            d.destination.name, CHIP_LABELS.get(d.status, d.status), CHIP_CLASSES.get(d.status, "")
        )
        for d in event.deliveries.all()
    ]
    return StreamRow(
        kind="event",
        pk=event.pk,
        received_at=event.received_at,
        type=display.clip(event.type, 20).text,
        summary=display.summary(message),
        user_id=display.clip(display.text_of(message.get("userId")), display.LIST_LIMIT).text,
        anonymous_id=display.clip(
            display.text_of(message.get("anonymousId")), display.LIST_LIMIT
        ).text,
        library=display.library(message),
        status="accepted",
        duplicates=event.duplicate_count,
        warnings=[display.visible(str(w)) for w in event.warnings or []],
        chips=sorted(chips, key=lambda chip: chip.destination),
        detail_url=reverse("source_debugger_event", args=[event.source_id, event.pk]),
    )


def parse_raw(text: str) -> dict[str, Any] | None:
    """A reject's raw JSON as an object, or ``None`` when it is not one."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def reject_row(reject: RejectedMessage) -> StreamRow:
    message = parse_raw(reject.raw) or {}
    kind = message.get("type")
    return StreamRow(
        kind="reject",
        pk=reject.pk,
        received_at=reject.received_at,
        type=display.clip(kind, 20).text if isinstance(kind, str) and kind else "?",
        summary=display.summary(message) if message else "(not a JSON object)",
        user_id=display.clip(display.text_of(message.get("userId")), display.LIST_LIMIT).text,
        anonymous_id=display.clip(
            display.text_of(message.get("anonymousId")), display.LIST_LIMIT
        ).text,
        library=display.library(message),
        status="rejected",
        code=reject.code,
        duplicates=max(reject.count - 1, 0),
        detail_url=reverse("source_debugger_reject", args=[reject.source_id, reject.pk]),
    )


@dataclass
class FailedRequest:
    request: IngestRequest
    user_agent: str
    excerpt: display.Clipped


def failed_requests(source: Source) -> list[FailedRequest]:
    """The latest refused requests of ``source`` (whole requests, so nothing was stored)."""
    rows = IngestRequest.objects.filter(source=source, status__in=REFUSED_STATUSES)
    return [
        FailedRequest(
            request=r,
            user_agent=display.clip(r.user_agent, 120).text,
            excerpt=display.clip(r.body_excerpt, EXCERPT),
        )
        for r in rows.order_by("-received_at", "-id")[:FAILED_REQUESTS]
    ]
