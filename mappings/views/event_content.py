"""The Event Content panel (destination spec §17) as data for the templates.

Both the mapping editor's live preview and the Event Tester's dry run call
:func:`evaluate_panels`: it runs :func:`~mappings.evaluation.evaluate_event` and
:func:`~mappings.evaluation.build_requests_for` — the code the workers run — for one event
alone, and turns each mapping's result into a :class:`Panel` in §17's order: trigger, mapped
fields (or the error), requests, notes and pre-flight findings, "nothing to send". No writes, no
network: requests are built, never sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from ..delivery.prepare import epoch_ms
from ..delivery.send import request_options
from ..destinations.mixpanel import preflight
from ..destinations.mixpanel.actions import get_action
from ..destinations.mixpanel.types import Finding, Note
from ..destinations.mixpanel.wire import PreparedRequest
from ..evaluation import (
    CompiledMapping,
    DestinationPlan,
    MappingEvaluation,
    build_requests_for,
    evaluate_event,
)
from ..ingest.timestamps import parse_timestamp_ms
from ..models import Event

STATUS_LABELS = {
    "ready": "matched: ready to send",
    "not_matched": "trigger did not match",
    "filtered_integrations": "blocked by integrations",
    "invalid_trigger": "invalid trigger",
    "invalid_settings": "destination settings are invalid",
    "mapping_error": "mapping error",
    "validation_error": "validation error: nothing is sent",
    "skipped": "matched: nothing to send",
    "disabled": "disabled",
}


@dataclass(frozen=True)
class Timing:
    """Which stored event the payload is (if any) and the times the evaluation uses."""

    stored_event_id: str
    received_at_ms: int
    now_ms: int
    received_is_now: bool
    stored_event: Event | None = None


def timing_for(event: dict[str, Any], stored: Event | None, now: datetime) -> Timing:
    """A stored event keeps its id and ``receivedAt`` (so ``$insert_id`` and ``time`` are what
    live delivery sends); an ad-hoc payload uses its own ``receivedAt``, else now."""
    now_ms = epoch_ms(now)
    if stored is not None and stored.message == event:
        return Timing(str(stored.pk), epoch_ms(stored.received_at), now_ms, False, stored)
    received = event.get("receivedAt")
    received_ms = parse_timestamp_ms(received) if isinstance(received, str) else None
    stored_id = str(event.get("messageId") or "preview")
    return Timing(stored_id, received_ms or now_ms, now_ms, received_ms is None)


@dataclass
class RequestCard:
    method: str
    url: str
    endpoint: str
    headers: list[tuple[str, str]]
    body: str
    records: int
    uncompressed_bytes: int
    gzip_bytes: int | None
    findings: list[Finding]


@dataclass
class FieldLine:
    key: str
    label: str
    value: str
    coerced: list[str]


@dataclass
class Panel:
    """One mapping's verdict for one event, in the §17 order."""

    name: str
    mapping_id: int | None
    action_title: str
    status: str
    matched: bool
    why: str
    conditions: list[tuple[str, bool]]
    fields: list[FieldLine] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    error: str | None = None
    requests: list[RequestCard] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    nothing_to_send: str = ""
    batching_note: bool = False

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def request_card(request: PreparedRequest) -> RequestCard:
    sizes = request.sizes()
    return RequestCard(
        method=request.method,
        url=request.url,
        endpoint=request.endpoint,
        headers=list(request.masked_headers().items()),
        body=request.display_body(),
        records=sizes["records"] or 0,
        uncompressed_bytes=sizes["uncompressed_bytes"] or 0,
        gzip_bytes=sizes["gzip_bytes"],
        findings=preflight.check_request(request),
    )


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def panel_for(
    evaluation: MappingEvaluation, plan: DestinationPlan, compiled: CompiledMapping
) -> Panel:
    config = evaluation.mapping
    try:
        action = get_action(config.action)
        title = action.title
    except KeyError:
        action, title = None, config.action
    panel = Panel(
        name=config.name,
        mapping_id=config.id,
        action_title=title,
        status=evaluation.status,
        matched=evaluation.matched,
        why=evaluation.why,
        conditions=evaluation.conditions,
        error=evaluation.error,
        findings=evaluation.findings,
    )
    result = evaluation.result
    if result is not None:
        coerced = result.coerced_fields
        for key, value in result.fields.items():
            declared = action.field(key) if action else None
            panel.fields.append(
                FieldLine(
                    key,
                    declared.label if declared else key,
                    pretty(value),
                    [c for c in coerced if c == key or c.startswith(key + ".")],
                )
            )
        panel.removed, panel.dropped, panel.notes = (
            result.removed_fields,
            result.dropped_fields,
            result.notes,
        )
        if result.skipped:
            panel.nothing_to_send = result.skipped
    if evaluation.records:
        requests = build_requests_for(evaluation.records, plan, compiled, **request_options())
        panel.requests = [request_card(r) for r in requests]
        # §17: batching is shown as if the event were alone.
        panel.batching_note = any(r.endpoint == "import" for r in requests)
    elif evaluation.status == "ready":
        panel.nothing_to_send = "The mapping produced no records for this event."
    return panel


def evaluate_panels(
    event: dict[str, Any], plan: DestinationPlan, timing: Timing, *, include_disabled: bool
) -> list[Panel]:
    """One :class:`Panel` per mapping of ``plan`` (enabled ones unless ``include_disabled``)."""
    evaluations = evaluate_event(
        event,
        plan,
        stored_event_id=timing.stored_event_id,
        received_at_ms=timing.received_at_ms,
        now_ms=timing.now_ms,
        include_disabled=include_disabled,
    )
    compiled = {id(c.config): c for c in plan.mappings}
    return [panel_for(e, plan, compiled[id(e.mapping)]) for e in evaluations]


def api_override() -> str:
    """The deployment's Mixpanel API URL when it replaces Mixpanel's hosts (else "")."""
    return settings.SEGMIX_MIXPANEL_API_URL or ""


# Path suggestions --------------------------------------------------------------------------------

MAX_SUGGESTIONS = 400
_ROOTS = {"properties": "properties", "traits": "traits", "context": "context"}


def payload_paths(event: dict[str, Any] | None) -> dict[str, list[str]]:
    """Keys of the test event, for the path pickers' suggestions.

    ``all``: mapping-kit paths (``$.properties.plan``, ``$.context.device.type``, ``$.messageId``);
    ``properties`` / ``traits`` / ``context``: the trigger builder's paths below those roots;
    ``field``: the other top-level keys.
    """
    out: dict[str, list[str]] = {
        "all": [],
        "properties": [],
        "traits": [],
        "context": [],
        "field": [],
    }
    if not isinstance(event, dict):
        return out

    def walk(value: Any, path: list[str], depth: int) -> None:
        if len(out["all"]) >= MAX_SUGGESTIONS:
            return
        out["all"].append("$." + ".".join(path))
        root = path[0]
        if root in _ROOTS and len(path) > 1:
            out[root].append(".".join(path[1:]))
        elif root not in ("type", "event", "name", "userId") and root not in _ROOTS:
            out["field"].append(".".join(path))
        if isinstance(value, dict) and depth < 5:
            for key, child in value.items():
                if isinstance(key, str) and key and "." not in key:
                    walk(child, [*path, key], depth + 1)

    for key, value in event.items():
        if isinstance(key, str) and key and "." not in key:
            walk(value, [key], 1)
    return out


def for_display(result: Any) -> Any:
    """A ``SendTestResult`` with each request's body pretty-printed as ``body_text`` (the
    templates have no JSON filter). Returns ``result`` itself."""
    if result is not None:
        for sent in result.requests:
            sent.body_text = pretty(sent.body)
    return result
