"""The numbers of the Deliveries screen: funnel, chart buckets and failures by reason.

Status totals and the chart are database aggregates (exact, indexed by destination and
``created_at``). What needs a look inside ``Delivery.outcome`` (per-mapping matches, failure
reasons) reads the rows in Python, newest first and up to :data:`SCAN_CAP` of them: on SQLite a
JSON dict keyed by mapping id cannot be queried by key (Django reads a numeric key as an array
index), and a console page must stay fast; the page says when a number is from a sample.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Trunc
from django.urls import reverse

from ..delivery.work import ERROR_STATUSES
from ..forms.deliveries import RANGES
from ..models import Delivery, Destination, Event
from . import display

SCAN_CAP = 50_000
FAILURE_SCAN_CAP = 5_000
SAMPLES = 3
# Outcome statuses of a mapping that matched the event (``evaluation.MappingEvaluation.matched``).
MATCHED = frozenset({"ready", "skipped", "evaluate", *ERROR_STATUSES})
# How ingest and the workers word a delivery blocked by ``integrations``.
INTEGRATIONS_REASON = Q(reason__startswith="integrations") | Q(reason__startswith="blocked by")


def history(destination: Destination, since: datetime, until: datetime) -> QuerySet[Delivery]:
    """Deliveries of events received in ``[since, until)`` (console test sends left out)."""
    return Delivery.objects.filter(
        destination=destination, test=False, created_at__gte=since, created_at__lt=until
    )


@dataclass
class MappingCount:
    mapping_id: int | None
    name: str
    count: int


@dataclass
class Funnel:
    received: int
    no_row: int  # events with no delivery row (the destination was off or not connected then)
    deliveries: int
    filtered_integrations: int
    no_mapping: int
    waiting: int  # pending, not evaluated yet
    matched: int
    per_mapping: list[MappingCount]
    outcomes: dict[
        str, int
    ]  # delivered / partially_delivered / retrying / pending / failed / skipped
    sampled: bool = False


def funnel(destination: Destination, since: datetime, until: datetime) -> Funnel:
    rows = history(destination, since, until)
    statuses = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    total = sum(statuses.values())
    blocked = rows.filter(INTEGRATIONS_REASON, status=Delivery.FILTERED).count()
    received = Event.objects.filter(
        source__in=destination.sources.all(), received_at__gte=since, received_at__lt=until
    ).count()
    names = dict(destination.mappings.values_list("pk", "name"))
    per_mapping: Counter[str] = Counter()
    stored_names: dict[str, str] = {}
    waiting = matched_pending = 0
    scanned = 0
    open_rows = rows.exclude(status=Delivery.FILTERED).order_by("-created_at")
    for status, outcome in open_rows.values_list("status", "outcome")[:SCAN_CAP].iterator():
        scanned += 1
        if status == Delivery.PENDING and not outcome:
            waiting += 1
            continue
        matched_any = False
        for key, entry in (outcome or {}).items():
            if isinstance(entry, dict) and entry.get("status") in MATCHED:
                per_mapping[key] += 1
                stored_names[key] = str(entry.get("name") or key)
                matched_any = True
        if status == Delivery.PENDING and matched_any:
            matched_pending += 1
    not_filtered = total - statuses.get(Delivery.FILTERED, 0)
    counts = [
        MappingCount(
            int(key) if key.isdigit() else None,
            names.get(int(key)) if key.isdigit() and int(key) in names else stored_names[key],
            n,
        )
        for key, n in per_mapping.most_common()
    ]
    outcomes = {
        status: statuses.get(status, 0)
        for status in (
            Delivery.DELIVERED,
            Delivery.PARTIAL,
            Delivery.RETRYING,
            Delivery.FAILED,
            Delivery.SKIPPED,
        )
    }
    outcomes[Delivery.PENDING] = matched_pending
    return Funnel(
        received=received,
        no_row=max(received - total, 0),
        deliveries=total,
        filtered_integrations=blocked,
        no_mapping=statuses.get(Delivery.FILTERED, 0) - blocked,
        waiting=waiting,
        matched=not_filtered - waiting,
        per_mapping=counts,
        outcomes=outcomes,
        sampled=scanned >= SCAN_CAP,
    )


@dataclass
class Bar:
    start: datetime
    total: int
    failed: int
    x: float = 0
    y_total: float = 0
    h_total: float = 0
    y_failed: float = 0
    h_failed: float = 0


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    bar_width: int
    peak: int
    total: int
    failed: int


CHART_HEIGHT = 100
BAR = 10
GAP = 2


def chart(destination: Destination, range_key: str, until: datetime) -> Chart:
    """Deliveries and failures per bucket of the range, laid out for an inline SVG."""
    spec = RANGES[range_key]
    count = int(spec.span / spec.bucket)
    start = _floor(until - spec.span, spec.bucket)
    rows = history(destination, start, until)
    grouped = (
        rows.annotate(b=Trunc("created_at", spec.trunc))
        .values("b")
        .annotate(
            total=Count("id"),
            failed=Count("id", filter=Q(status__in=[Delivery.FAILED, Delivery.PARTIAL])),
        )
        .order_by()
    )
    bars = [Bar(start + spec.bucket * i, 0, 0) for i in range(count + 1)]
    for row in grouped:
        index = int((row["b"] - start) / spec.bucket)
        if 0 <= index < len(bars):
            bars[index].total += row["total"]
            bars[index].failed += row["failed"]
    peak = max((b.total for b in bars), default=0)
    for i, bar in enumerate(bars):
        bar.x = i * (BAR + GAP)
        bar.h_total = round(CHART_HEIGHT * bar.total / peak, 2) if peak else 0
        bar.y_total = CHART_HEIGHT - bar.h_total
        bar.h_failed = round(CHART_HEIGHT * bar.failed / peak, 2) if peak else 0
        bar.y_failed = CHART_HEIGHT - bar.h_failed
    return Chart(
        bars=bars,
        width=len(bars) * (BAR + GAP),
        height=CHART_HEIGHT,
        bar_width=BAR,
        peak=peak,
        total=sum(b.total for b in bars),
        failed=sum(b.failed for b in bars),
    )


def _floor(moment: datetime, step: timedelta) -> datetime:
    """``moment`` rounded down to a multiple of ``step`` since the epoch (UTC buckets)."""
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // step) * step


@dataclass
class Sample:
    message_id: str
    trace_url: str


@dataclass
class FailureGroup:
    field: str
    message: str
    count: int = 0
    samples: list[Sample] = field(default_factory=list)


def failures(destination: Destination, since: datetime, until: datetime) -> tuple[list, bool]:
    """Failed and partially delivered deliveries grouped by Mixpanel's (field, message), or by
    the mapping's error when nothing was sent; with up to :data:`SAMPLES` examples each."""
    rows = (
        history(destination, since, until)
        .filter(status__in=[Delivery.FAILED, Delivery.PARTIAL])
        .select_related("event")
        .only("id", "reason", "outcome", "destination_id", "event__message_id")
        .order_by("-created_at")
    )
    groups: dict[tuple[str, str], FailureGroup] = {}
    scanned = 0
    for delivery in rows[:FAILURE_SCAN_CAP].iterator():
        scanned += 1
        for key in _failure_keys(delivery):
            group = groups.setdefault(key, FailureGroup(*key))
            group.count += 1
            if len(group.samples) < SAMPLES:
                group.samples.append(
                    Sample(
                        display.clip(delivery.event.message_id, 80).text,
                        reverse("delivery_trace", args=[destination.pk, delivery.pk]),
                    )
                )
    ordered = sorted(groups.values(), key=lambda g: -g.count)
    return ordered, scanned >= FAILURE_SCAN_CAP


def _failure_keys(delivery: Delivery) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for entry in (delivery.outcome or {}).values():
        if not isinstance(entry, dict):
            continue
        if entry.get("status") in ERROR_STATUSES:
            keys.add(("", _text(entry.get("error") or entry.get("status"))))
        for record in entry.get("records") or []:
            if isinstance(record, dict) and record.get("outcome") == "failed":
                keys.add(
                    (_text(record.get("field") or ""), _text(record.get("message") or "failed"))
                )
    return keys or {("", _text(delivery.reason or "failed"))}


def _text(value: object) -> str:
    return display.clip(str(value), 300).text
