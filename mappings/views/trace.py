"""The per-message trace: "why was this (not) sent?" (spec §7.2 "Per message and destination").

For one delivery: every mapping's stored outcome beside its trigger re-run today (``fql.explain``
on the stored event, with the mapping's current version), the records built (the mapped payload,
exactly as stored), and every request to Mixpanel that carried them with Mixpanel's answers.
A failed delivery can be retried from here (``POST …/retry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..delivery import schedule
from ..delivery.claim import is_paused
from ..delivery.replay import reset_delivery
from ..engine import fql
from ..models import Delivery, Destination, Mapping, MixpanelRequest, PendingProfileUpdate
from . import display
from .common import HtmxHttpRequest, _get_destination, mapping_edit_url, render_page, staff_required
from .deliveries import progress_context
from .stream import CHIP_CLASSES, CHIP_LABELS

TEMPLATE = "deliveries/trace.html"
# Requests are found by time first (indexed), then by delivery id in Python: ``delivery_ids`` is
# a JSON list that SQLite cannot search efficiently.
REQUEST_MARGIN = timedelta(minutes=2)
REQUEST_SCAN_CAP = 20_000
RETRYABLE = (Delivery.FAILED, Delivery.PARTIAL)
# Fields ``replay.replay`` writes; a single retry writes the same ones.
RESET_FIELDS = [
    "outcome", "records", "pending_records", "status", "reason", "attempts",
    "first_attempt_at", "next_attempt_at", "lease_until", "updated_at",
]  # fmt: skip

STATUS_WORDS = {
    "ready": "matched: records built",
    "not_matched": "trigger did not match",
    "filtered_integrations": "blocked by integrations",
    "invalid_trigger": "invalid trigger",
    "invalid_settings": "invalid destination settings",
    "mapping_error": "mapping error",
    "validation_error": "failed validation",
    "skipped": "matched, nothing to send",
    "internal": "internal error",
    "evaluate": "to be evaluated again (replayed)",
    "disabled": "mapping disabled",
}


@dataclass
class Payload:
    kind: str
    endpoint: str
    insert_id: str
    outcome: str
    field: str
    message: str
    body: str


@dataclass
class MappingTrace:
    key: str
    name: str
    mapping: Mapping | None
    edit_url: str
    stored: dict[str, Any] | None
    status_words: str
    why: str
    error: str
    conditions: list[tuple[str, bool]]
    matches_now: bool | None
    trigger_error: str
    version_note: str
    payloads: list[Payload] = field(default_factory=list)


@dataclass
class RequestTrace:
    request: MixpanelRequest
    entries: list[dict[str, Any]]
    total_records: int
    headers: list[tuple[str, str]]
    response_body: display.Clipped
    error: str


@require_GET
@staff_required
def delivery_trace(request: HtmxHttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    destination = _get_destination(request, pk)
    delivery = get_object_or_404(
        Delivery.objects.select_related("event", "event__source"),
        pk=delivery_pk,
        destination=destination,
    )
    event = delivery.event
    message = event.message if isinstance(event.message, dict) else {}
    context = {
        "section": "deliveries",
        "destination": destination,
        "delivery": delivery,
        "event": event,
        "title": display.summary(message),
        "message_id": display.clip(event.message_id, 200).text,
        "distinct_id": display.clip(
            display.text_of(message.get("userId")) or display.text_of(message.get("anonymousId")),
            200,
        ).text,
        "label": CHIP_LABELS.get(delivery.status, delivery.status),
        "css": CHIP_CLASSES.get(delivery.status, ""),
        "reason": display.clip(delivery.reason).text,
        "mappings": mapping_traces(destination, delivery),
        "requests": request_traces(destination, delivery),
        "debugger_url": reverse("source_debugger_event", args=[event.source_id, event.pk]),
        "deliveries_url": reverse("destination_deliveries", args=[destination.pk]),
        "retryable": delivery.status in RETRYABLE and not delivery.test,
        "paused": is_paused(destination),
    }
    return render_page(request, TEMPLATE, context)


@require_POST
@staff_required
def delivery_retry(request: HtmxHttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    """Put one failed delivery back in the outbox (as ``replay`` does) and ask for a flush."""
    destination = _get_destination(request, pk)
    get_object_or_404(Delivery, pk=delivery_pk, destination=destination)
    with transaction.atomic():
        # Under the lock: a worker or a concurrent retry may have changed the row meanwhile.
        delivery = Delivery.objects.select_for_update().get(pk=delivery_pk)
        retried = delivery.status in RETRYABLE and not delivery.test
        if retried:
            reset_delivery(delivery, everything=False, now=timezone.now())
            delivery.save(update_fields=RESET_FIELDS)
            PendingProfileUpdate.objects.filter(delivery_id=delivery.pk).delete()
    if retried:
        schedule.schedule_flush(destination.pk)
    trace_url = reverse("delivery_trace", args=[pk, delivery_pk])
    if not request.htmx:
        if retried:
            messages.success(request, "The delivery was put back in the outbox.")
        else:
            messages.info(request, "Only a failed delivery can be retried; nothing changed.")
        return redirect(trace_url)
    context = progress_context(destination, {"delivery": delivery_pk})
    context.update(retry=True, retried=retried)
    return render_page(request, "destinations/deliveries.html", context, partial="progress")


def mapping_traces(destination: Destination, delivery: Delivery) -> list[MappingTrace]:
    """The destination's mappings in order, then outcome entries of mappings deleted since."""
    outcome = delivery.outcome or {}
    records = [r for r in delivery.records or [] if isinstance(r, dict)]
    message = delivery.event.message
    traces = []
    mappings = list(destination.mappings.order_by("position", "id"))
    for mapping in mappings:
        traces.append(
            _trace(str(mapping.pk), mapping, outcome.get(str(mapping.pk)), records, message)
        )
    known = {str(m.pk) for m in mappings}
    for key, entry in outcome.items():
        if key not in known:
            traces.append(_trace(key, None, entry, records, message))
    return traces


def _trace(
    key: str,
    mapping: Mapping | None,
    stored: Any,
    records: list[dict[str, Any]],
    message: Any,
) -> MappingTrace:
    stored = stored if isinstance(stored, dict) else None
    conditions: list[tuple[str, bool]] = []
    matches_now: bool | None = None
    trigger_error = ""
    if mapping is not None:
        try:
            conditions = fql.explain(mapping.trigger, message)
            matches_now = fql.matches(mapping.trigger, message)
        except fql.FqlError as exc:
            trigger_error = str(exc)
    version_note = ""
    if stored and mapping is not None and stored.get("version") not in (None, mapping.version):
        version_note = (
            f"Evaluated with version {stored.get('version')}; the mapping is at version "
            f"{mapping.version} now, so today's trigger result may differ."
        )
    summaries = (stored or {}).get("records") or []
    payloads = []
    for record in sorted((r for r in records if r.get("mapping") == key), key=_index):
        index = _index(record)
        summary = summaries[index] if 0 <= index < len(summaries) else {}
        payloads.append(
            Payload(
                kind=display.visible(str(record.get("kind") or "")),
                endpoint=display.visible(str(record.get("endpoint") or "")),
                insert_id=display.clip(record.get("insert_id") or "", 200).text,
                outcome=str(summary.get("outcome") or ""),
                field=display.clip(summary.get("field") or "", 200).text,
                message=display.clip(summary.get("message") or "").text,
                body=display.pretty_json_text(str(record.get("body") or "")),
            )
        )
    status = str((stored or {}).get("status") or "")
    name = mapping.name if mapping else str((stored or {}).get("name") or f"mapping {key}")
    return MappingTrace(
        key=key,
        name=name,
        mapping=mapping,
        edit_url=mapping_edit_url(mapping) if mapping else "",
        stored=stored,
        status_words=STATUS_WORDS.get(status, status) if stored else "",
        why=display.clip((stored or {}).get("why") or "").text,
        error=display.clip((stored or {}).get("error") or "").text,
        conditions=[(display.visible(text), ok) for text, ok in conditions],
        matches_now=matches_now,
        trigger_error=trigger_error,
        version_note=version_note,
        payloads=payloads,
    )


def _index(record: dict[str, Any]) -> int:
    index = record.get("index")
    return index if isinstance(index, int) else -1


def request_traces(destination: Destination, delivery: Delivery) -> list[RequestTrace]:
    """The requests that carried this delivery's records, oldest first."""
    until = max(delivery.updated_at, delivery.next_attempt_at) + REQUEST_MARGIN
    window = MixpanelRequest.objects.filter(
        destination=destination,
        started_at__gte=delivery.created_at - REQUEST_MARGIN,
        started_at__lte=until,
    ).order_by("started_at", "id")
    ids = [
        pk
        for pk, carried in window.values_list("id", "delivery_ids")[:REQUEST_SCAN_CAP]
        if isinstance(carried, list) and delivery.pk in carried
    ]
    traces = []
    for request in MixpanelRequest.objects.filter(pk__in=ids).order_by("started_at", "id"):
        body = request.body if isinstance(request.body, list) else []
        entries = []
        for position, item in enumerate(request.manifest or []):
            if not isinstance(item, list) or len(item) < 6 or item[0] != delivery.pk:
                continue
            entries.append(
                {
                    "position": position,
                    "kind": display.visible(str(item[1] or "")),
                    "insert_id": display.clip(item[2] or "", 200).text,
                    "outcome": str(item[3] or ""),
                    "field": display.clip(item[4] or "", 200).text,
                    "message": display.clip(item[5] or "").text,
                    "body": display.pretty_json(body[position]) if position < len(body) else "",
                }
            )
        traces.append(
            RequestTrace(
                request=request,
                entries=entries,
                total_records=len(body) or request.record_count,
                headers=[
                    (str(k), display.visible(str(v))) for k, v in (request.headers or {}).items()
                ],
                response_body=display.clip(request.response_body, 4000),
                error=display.clip(request.error).text,
            )
        )
    return traces
