"""Deliveries (per destination): funnel, chart, failures by reason, search, and replay.

``GET  destinations/<pk>/deliveries``           the page (htmx: the results table only)
``POST destinations/<pk>/deliveries/replay``    put the range's failed deliveries back in the outbox
``GET  destinations/<pk>/deliveries/progress``  how the replayed deliveries are doing (polled)

The per-message trace and a single retry live in :mod:`.trace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..delivery import schedule
from ..delivery.claim import is_paused
from ..delivery.replay import ReplaySummary, candidates, replay
from ..forms.debugger import INDEXED, message_id_hash
from ..forms.deliveries import (
    DEFAULT_RANGE,
    FILTERED_INTEGRATIONS,
    NO_MAPPING,
    RANGES,
    DeliverySearchForm,
    ReplayForm,
    window,
)
from ..models import Delivery, Destination
from . import delivery_stats, display
from .common import (
    HtmxHttpRequest,
    _get_destination,
    render_page,
    staff_required,
)
from .stream import CHIP_CLASSES, CHIP_LABELS

TEMPLATE = "destinations/deliveries.html"
PER_PAGE = 50
MAPPING_SCAN_CAP = 5_000
PROGRESS_SECONDS = 2


@dataclass
class ResultRow:
    delivery: Delivery
    summary: str
    message_id: str
    distinct_id: str
    label: str
    css: str
    reason: str
    trace_url: str


@require_GET
@staff_required
def destination_deliveries(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Overview of a range (funnel, chart, failures, replay) and the matching messages; htmx
    requests (the pager) get the results table only."""
    destination = _get_destination(request, pk)
    data = None
    if request.GET:
        data = request.GET.copy()
        data.setdefault("range", DEFAULT_RANGE)  # so the select shows the range in use
    form = DeliverySearchForm(data, destination=destination)
    values = form.values()
    since, until = window(values["range"])
    rows, has_more = search(destination, values, since, until)
    context: dict[str, Any] = {
        "section": "deliveries",
        "destination": destination,
        "form": form,
        "values": values,
        "rows": rows,
        "range_label": RANGES[values["range"]].label.lower(),
        "next_url": _page_url(destination, values, values["page"] + 1) if has_more else "",
        "prev_url": _page_url(destination, values, values["page"] - 1)
        if values["page"] > 1
        else "",
    }
    if request.htmx:
        return render_page(request, TEMPLATE, context, partial="results")
    context.update(_overview(destination, values["range"], since, until))
    return render_page(request, TEMPLATE, context)


def _overview(destination: Destination, range_key: str, since: datetime, until: datetime) -> dict:
    funnel = delivery_stats.funnel(destination, since, until)
    groups, groups_sampled = delivery_stats.failures(destination, since, until)
    replayable = candidates(destination, since=since, until=until).count()
    links = {
        key: _page_url(destination, {"range": range_key, "status": key}, 1)
        for key in (
            *CHIP_LABELS,
            FILTERED_INTEGRATIONS,
            NO_MAPPING,
        )
    }
    return {
        "funnel": funnel,
        "links": links,
        "chart": delivery_stats.chart(destination, range_key, until),
        "failure_groups": groups,
        "failures_sampled": groups_sampled,
        "replayable": replayable,
        "paused": is_paused(destination),
    }


def _page_url(destination: Destination, values: dict[str, Any], page: int) -> str:
    params = {k: v for k, v in values.items() if v not in ("", None) and k != "page"}
    if page > 1:
        params["page"] = page
    base = reverse("destination_deliveries", args=[destination.pk])
    return f"{base}?{urlencode(params)}" if params else base


def search(
    destination: Destination, values: dict[str, Any], since: datetime, until: datetime
) -> tuple[list[ResultRow], bool]:
    """One page of matching deliveries, newest first, and whether there are more."""
    rows = _filtered(destination, values, since, until)
    start = (values["page"] - 1) * PER_PAGE
    if values["mapping"] is None:
        found = list(rows[start : start + PER_PAGE + 1])
    else:
        # The mapping is a key of the ``outcome`` dict: checked in Python over a bounded scan.
        key = str(values["mapping"])
        matching = (
            d
            for d in rows[:MAPPING_SCAN_CAP].iterator()
            if ((d.outcome or {}).get(key) or {}).get("status") in delivery_stats.MATCHED
        )
        found = [d for i, d in enumerate(matching) if start <= i < start + PER_PAGE + 1]
    return [_row(destination, d) for d in found[:PER_PAGE]], len(found) > PER_PAGE


def _filtered(
    destination: Destination, values: dict[str, Any], since: datetime, until: datetime
) -> QuerySet[Delivery]:
    rows = delivery_stats.history(destination, since, until).select_related("event")
    if values["message_id"]:
        rows = rows.filter(event__dedup_hash=message_id_hash(values["message_id"]))
    if values["distinct_id"]:
        ident = values["distinct_id"][:INDEXED]
        rows = rows.filter(Q(event__user_id=ident) | Q(event__anonymous_id=ident))
    if values["event"]:
        rows = rows.filter(event__event_name=values["event"][:INDEXED])
    status = values["status"]
    if status == FILTERED_INTEGRATIONS:
        rows = rows.filter(delivery_stats.INTEGRATIONS_REASON, status=Delivery.FILTERED)
    elif status == NO_MAPPING:
        rows = rows.filter(status=Delivery.FILTERED).exclude(delivery_stats.INTEGRATIONS_REASON)
    elif status:
        rows = rows.filter(status=status)
    return rows.defer("records", "pending_records", "event__raw").order_by("-created_at", "-id")


def _row(destination: Destination, delivery: Delivery) -> ResultRow:
    event = delivery.event
    message = event.message if isinstance(event.message, dict) else {}
    distinct = display.text_of(message.get("userId")) or display.text_of(message.get("anonymousId"))
    return ResultRow(
        delivery=delivery,
        summary=display.summary(message),
        message_id=display.clip(event.message_id, 80).text,
        distinct_id=display.clip(distinct, 80).text,
        label=CHIP_LABELS.get(delivery.status, delivery.status),
        css=CHIP_CLASSES.get(delivery.status, ""),
        reason=display.clip(delivery.reason, display.LIST_LIMIT).text,
        trace_url=reverse("delivery_trace", args=[destination.pk, delivery.pk]),
    )


# --- replay and its progress --------------------------------------------------------------------


@require_POST
@staff_required
def deliveries_replay(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Reset the range's failed deliveries to ``pending`` and ask for a flush."""
    destination = _get_destination(request, pk)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        return HttpResponse("range must be one of 1h, 24h, 7d, 30d", status=400)
    since, until = window(form.cleaned_data["range"])
    started = timezone.now()
    summary, _ids = replay(destination, since=since, until=until, status="failed")
    if summary.deliveries:
        schedule.schedule_flush(destination.pk)
    scope = {"since": _micros(since), "until": _micros(until), "started": _micros(started)}
    if not request.htmx:
        messages.success(request, f"{summary.deliveries} failed deliveries put back in the outbox.")
        return redirect(
            f"{reverse('destination_deliveries', args=[pk])}?range={form.cleaned_data['range']}"
        )
    context = progress_context(destination, scope, summary=summary)
    return render_page(request, TEMPLATE, context, partial="progress")


@require_GET
@staff_required
def deliveries_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The replay panel again, with fresh counts (htmx polls it until nothing is open)."""
    destination = _get_destination(request, pk)
    scope = {key: _int(request.GET.get(key)) for key in ("since", "until", "started", "delivery")}
    context = progress_context(destination, scope)
    if not request.htmx:  # the panel's "Refresh" link without JavaScript: the page it sits on
        return redirect(context["trace_url"] or reverse("destination_deliveries", args=[pk]))
    return render_page(request, TEMPLATE, context, partial="progress")


def progress_context(
    destination: Destination,
    scope: dict[str, int],
    *,
    summary: ReplaySummary | None = None,
) -> dict[str, Any]:
    """Counts of the deliveries a replay (or a retry, ``scope["delivery"]``) put back: those of
    the range touched since it started. Open ones keep the panel polling."""
    rows = Delivery.objects.filter(destination=destination, test=False)
    if scope.get("delivery"):
        rows = rows.filter(pk=scope["delivery"])
    else:
        rows = rows.filter(
            event__received_at__gte=_moment(scope.get("since", 0)),
            event__received_at__lt=_moment(scope.get("until", 0)),
            updated_at__gte=_moment(scope.get("started", 0)),
        )
    counts = {s: 0 for s in CHIP_LABELS}
    for status in rows.values_list("status", flat=True)[:100_000]:
        counts[status] = counts.get(status, 0) + 1
    open_count = counts[Delivery.PENDING] + counts[Delivery.RETRYING]
    base = reverse("deliveries_progress", args=[destination.pk])
    query = urlencode({k: v for k, v in scope.items() if v})
    return {
        "destination": destination,
        "summary": summary,
        "counts": counts,
        "total": sum(counts.values()),
        "open_count": open_count,
        "done": sum(counts.values()) - open_count,
        "progress_url": f"{base}?{query}",
        "progress_seconds": PROGRESS_SECONDS,
        "stalled": open_count and (not destination.enabled or is_paused(destination)),
        "trace_url": (
            reverse("delivery_trace", args=[destination.pk, scope["delivery"]])
            if scope.get("delivery")
            else ""
        ),
    }


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _moment(micros: int) -> datetime:
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest)


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 19 else 0
