"""The console's "Send test event" (destination spec §17): one event, one mapping, for real.

It runs the live path — ``evaluate_event``, ``build_requests_for``, ``http.try_send``,
``responses.classify`` — synchronously, with retries off: nothing is retried, split, resent
alone or paused; the result says what live delivery *would* do. Each request is recorded as a
``MixpanelRequest`` tagged ``test``. The delivery outbox is not touched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from .. import http
from ..destinations.mixpanel.responses import Verdict, aggregate_event_status, classify
from ..evaluation import DestinationPlan, build_requests_for, evaluate_event
from ..models import Delivery, Destination, Event, Mapping
from ..plans import plan_for
from .prepare import epoch_ms
from .recording import manifest_entry, record_request
from .send import request_options

__test__ = False  # not a pytest module, despite its name

# What live delivery would do with a record, in the words the console shows (§17).
WOULD = {
    "retry": "would retry",
    "split": "would split the request in half (413)",
    "pause": "would pause the destination (credentials rejected)",
    "resend_alone": "would resend it alone",
}
# Answer headers the panel shows.
SHOWN_HEADERS = ("Retry-After", "Content-Type")


@dataclass
class RecordResult:
    kind: str
    insert_id: str | None
    outcome: str  # delivered | failed | retry | split | pause | resend_alone | not_sent
    label: str
    field: str | None = None
    message: str | None = None


@dataclass
class RequestResult:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    duration_ms: int
    verdict: str
    message: str
    error: str | None
    records: list[RecordResult]
    request_id: int


@dataclass
class SendTestResult:
    """``status``: the mapping's evaluation status (``ready`` when something was sent);
    ``summary``: delivered / partially_delivered / failed / would retry / nothing sent."""

    mapping: str
    status: str
    why: str
    error: str | None = None
    requests: list[RequestResult] = field(default_factory=list)
    not_sent: list[RecordResult] = field(default_factory=list)
    summary: str = "nothing sent"


def send_test_event(
    destination: Destination,
    mapping: Mapping,
    event: dict[str, Any],
    *,
    stored_event: Event | None = None,
    plan: DestinationPlan | None = None,
) -> SendTestResult:
    """Send ``event`` through ``mapping`` to ``destination``'s Mixpanel now; report every answer.

    ``stored_event`` (when the event comes from the debugger) gives ``$insert_id``/``time`` their
    stored-event values, identical to live delivery; an ad-hoc payload uses now as ``receivedAt``.
    ``plan`` — a plan holding only the mapping to test — lets the editor test unsaved changes,
    or send with another destination's settings (a dev project); by default it is the saved
    mapping with ``destination``'s settings.
    """
    if plan is None:
        full = plan_for(destination)
        compiled = next(c for c in full.mappings if c.config.id == mapping.pk)
        plan = dataclasses.replace(full, mappings=(compiled,))
    compiled = plan.mappings[0]
    now = timezone.now()
    received = stored_event.received_at if stored_event else now
    stored_id = str(stored_event.pk) if stored_event else f"test-{epoch_ms(now)}"
    [evaluation] = evaluate_event(
        event,
        plan,
        stored_event_id=stored_id,
        received_at_ms=epoch_ms(received),
        now_ms=epoch_ms(now),
        include_disabled=True,
    )
    result = SendTestResult(
        compiled.config.name, evaluation.status, evaluation.why, error=evaluation.error
    )
    if not evaluation.records:
        return result
    delivery_id = None
    if stored_event is not None:
        delivery_id = (
            Delivery.objects.filter(event=stored_event, destination=destination)
            .values_list("id", flat=True)
            .first()
        )
    requests = build_requests_for(evaluation.records, plan, compiled, **request_options())
    accepted_gate: bool | None = None
    outcomes: list[str] = []
    for request in requests:
        if accepted_gate is False and not any(r.gates_following for r in request.records):
            result.not_sent.extend(
                RecordResult(
                    r.kind, r.insert_id, "not_sent", "not sent: its $identify was not accepted"
                )
                for r in request.records
            )
            outcomes.extend("failed" for _ in request.records)
            continue
        sent = _send_one(destination, mapping, request, delivery_id)
        result.requests.append(sent)
        outcomes.extend(r.outcome for r in sent.records)
        if any(r.gates_following for r in request.records):
            accepted_gate = all(r.outcome == "delivered" for r in sent.records)
    result.summary = _summary(outcomes)
    return result


def _send_one(destination: Destination, mapping: Mapping, request: Any, delivery_id: int | None):
    started = timezone.now()
    answer = http.try_send(request, timeout=settings.SEGMIX_MIXPANEL_TIMEOUT)
    verdict = classify(request, answer.status, answer.headers, answer.body, error=answer.error)
    records = _records(request, verdict)
    saved = record_request(
        destination,
        request,
        answer,
        verdict,
        started_at=started,
        attempt=1,
        manifest=[
            manifest_entry(delivery_id, r.kind, r.insert_id, r.outcome, r.field, r.message)
            for r in records
        ],
        mapping_id=mapping.pk,
        mapping_version=mapping.version,
        test=True,
    )
    shown = {k: v for k, v in answer.headers.items() if k.title() in SHOWN_HEADERS}
    return RequestResult(
        method=request.method,
        url=request.url,
        headers=request.masked_headers(),
        body=request.decoded_body(),
        status=answer.status,
        response_headers=shown,
        response_body=saved.response_body,
        duration_ms=answer.elapsed_ms,
        verdict=verdict.kind,
        message=saved.message,
        error=answer.error,
        records=records,
        request_id=saved.pk,
    )


def _records(request: Any, verdict: Verdict) -> list[RecordResult]:
    out = []
    for record, outcome in zip(request.records, verdict.records, strict=True):
        name = outcome.outcome
        if verdict.kind in ("split", "pause"):
            name = verdict.kind
        if name == "delivered":
            label = "delivered"
        elif name == "failed":
            label = "failed for good"
        else:
            label = WOULD[name]
        out.append(
            RecordResult(record.kind, record.insert_id, name, label, outcome.field, outcome.message)
        )
    return out


def _summary(outcomes: list[str]) -> str:
    if not outcomes:
        return "nothing sent"
    for would in ("pause", "split", "retry", "resend_alone"):
        if would in outcomes:
            return WOULD[would]
    return aggregate_event_status(outcomes)
