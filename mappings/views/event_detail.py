"""What the Debugger's detail tabs show for one message (spec §7.1 "Detail tabs").

* Pretty: sections (identity, event, properties/traits, context, integrations, other fields),
  the timestamps block and the warnings, as display rows from :mod:`.display`;
* Raw: the stored normalised JSON; As received: the message before normalisation, without
  ``writeKey``; Delivery: one line per destination, linking to its trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from ..engine.jsvalues import js_type
from ..models import Event, RejectedMessage
from . import display
from .stream import CHIP_CLASSES, CHIP_LABELS, parse_raw

# Top-level keys with a section of their own (everything else lands in "Other fields").
IDENTITY_KEYS = ("userId", "anonymousId", "groupId", "previousId", "messageId")
EVENT_KEYS = ("type", "event", "name", "category", "channel")
OBJECT_SECTIONS = (
    ("properties", "Properties"),
    ("traits", "Traits"),
    ("context", "Context"),
    ("integrations", "Integrations"),
)
SECTIONED = {*IDENTITY_KEYS, *EVENT_KEYS, *display.TIME_FIELDS, *(k for k, _ in OBJECT_SECTIONS)}

# Ingest warning codes in words (codes themselves are ours, never payload data).
WARNING_WORDS = {
    "message_id_assigned": "no messageId was sent: segmix assigned one",
    "invalid_timestamp": "the timestamp was not a valid ISO-8601 time: receivedAt was used",
    "invalid_sent_at": "sentAt was not a valid ISO-8601 time: no clock-skew correction",
    "timestamp_out_of_range": "the corrected time was out of range: receivedAt was used",
}


@dataclass
class Section:
    title: str
    rows: list[display.Row]
    more: bool = False  # rows were left out (a huge object)
    empty: str = ""


@dataclass
class DeliveryLine:
    destination: str
    label: str
    css: str
    reason: str
    attempts: int
    trace_url: str


@dataclass
class Detail:
    """Everything the four tabs of one accepted event show."""

    event: Event
    title: str
    sections: list[Section]
    timing: display.Timing
    warnings: list[tuple[str, str]]
    raw_json: str
    received_json: str
    deliveries: list[DeliveryLine] = field(default_factory=list)
    request_id: str = ""
    route: str = ""


def _section(title: str, key: str, value: Any, empty: str) -> Section:
    # Full paths (``properties.plan``): what a trigger or a mapping would write.
    if value is None or value == {} or value == []:
        return Section(title, [], empty=empty)
    rows, more = display.flatten(value, key)
    return Section(title, rows, more)


def _pick(message: dict[str, Any], keys: tuple[str, ...]) -> list[display.Row]:
    return [
        display.Row(key, display.clip(message[key]), js_type(message[key]))
        for key in keys
        if key in message
    ]


def event_detail(event: Event) -> Detail:
    message = (
        event.message if isinstance(event.message, dict) else {"(stored value)": event.message}
    )
    sections = [
        Section("Identity", _pick(message, IDENTITY_KEYS)),
        Section("Event", _pick(message, EVENT_KEYS)),
    ]
    for key, title in OBJECT_SECTIONS:
        if key in message or key in ("properties", "context"):
            sections.append(_section(title, key, message.get(key), empty=f"No {key}."))
    other = {k: v for k, v in message.items() if k not in SECTIONED}
    if other:
        rows, more = display.flatten(other)
        sections.append(Section("Other fields", rows, more))
    received = event.raw if isinstance(event.raw, dict) else {"(stored value)": event.raw}
    received = {k: v for k, v in received.items() if k != "writeKey"}
    warnings = [str(w) for w in event.warnings or []]
    request = event.request
    return Detail(
        event=event,
        title=display.summary(message),
        sections=sections,
        timing=display.timing(message, warnings),
        warnings=[(display.visible(w), WARNING_WORDS.get(w, "")) for w in warnings],
        raw_json=display.pretty_json(message),
        received_json=display.pretty_json(received),
        deliveries=delivery_lines(event),
        request_id=request.request_id if request else "",
        route=request.route if request else "",
    )


def delivery_lines(event: Event) -> list[DeliveryLine]:
    lines = []
    for d in event.deliveries.select_related("destination").order_by("destination__name"):
        lines.append(
            DeliveryLine(
                destination=d.destination.name,
                label=CHIP_LABELS.get(d.status, d.status),
                css=CHIP_CLASSES.get(d.status, ""),
                reason=display.clip(d.reason, display.LIMIT).text,
                attempts=d.attempts,
                trace_url=reverse("delivery_trace", args=[d.destination_id, d.pk]),
            )
        )
    return lines


@dataclass
class RejectDetail:
    reject: RejectedMessage
    title: str
    message: str
    field: str
    raw_json: str
    is_json: bool
    request_id: str = ""
    route: str = ""


def reject_detail(reject: RejectedMessage) -> RejectDetail:
    parsed = parse_raw(reject.raw)
    if parsed is not None:
        parsed = {k: v for k, v in parsed.items() if k != "writeKey"}
        raw, is_json = display.pretty_json(parsed), True
    else:
        raw, is_json = display.clip(reject.raw, 20_000).text, False
    request = reject.request
    return RejectDetail(
        reject=reject,
        title=display.summary(parsed) if parsed else "(not a JSON object)",
        message=display.clip(reject.message).text,
        field=display.clip(reject.field, 100).text,
        raw_json=raw,
        is_json=is_json,
        request_id=request.request_id if request else "",
        route=request.route if request else "",
    )
