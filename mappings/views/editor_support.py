"""What the mapping editor computes besides rendering: the live preview, recent events, the impact
of an unsaved change, version diffs, and "Send test event" for the editor's (unsaved) state.

Everything here except :func:`send_editor_test` is side-effect free: it reads the database and
evaluates, and never writes or touches the network.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..delivery import test_send
from ..delivery.prepare import epoch_ms
from ..engine import fql
from ..evaluation import (
    DestinationPlan,
    MappingConfig,
    evaluate_event,
    plan_destination,
)
from ..models import Destination, Event, Mapping
from .event_content import Panel, Timing, evaluate_panels, timing_for
from .event_samples import sample

IMPACT_EVENTS = 100
RECENT_SCAN = 500


def saved_config(mapping: Mapping) -> MappingConfig:
    return MappingConfig(
        name=mapping.name,
        trigger=mapping.trigger,
        action=mapping.action,
        mapping=mapping.mapping,
        enabled=True,
        id=mapping.pk,
        version=mapping.version,
    )


def is_saved_state(config: MappingConfig, mapping: Mapping) -> bool:
    """Whether ``config`` sends what the saved ``mapping`` sends (same trigger and mapping)."""
    if config.mapping != mapping.mapping or config.action != mapping.action:
        return False
    try:
        return fql.parse(config.trigger) == fql.parse(mapping.trigger)
    except fql.FqlError:
        return config.trigger == mapping.trigger


def plan_with(destination: Destination, config: MappingConfig) -> DestinationPlan:
    """An ad-hoc plan: ``destination``'s settings with just this (possibly unsaved) mapping."""
    return plan_destination(destination.all_settings(), [config])


def source_events(destination: Destination):
    """Stored events of the destination's sources, newest first."""
    return Event.objects.filter(source__destinations=destination).order_by("-received_at", "-id")


def stored_event(destination: Destination, event_id: int | None) -> Event | None:
    if not event_id:
        return None
    return source_events(destination).filter(pk=event_id).first()


def recent_event(
    destination: Destination, *, older_than: Event | None = None, trigger: str | None = None
) -> Event | None:
    """The newest stored event (older than ``older_than``), matching ``trigger`` when given."""
    events = source_events(destination)
    if older_than is not None:
        events = events.filter(
            Q(received_at__lt=older_than.received_at)
            | Q(received_at=older_than.received_at, pk__lt=older_than.pk)
        )
    node = None
    if trigger:
        try:
            node = fql.parse(trigger)
        except fql.FqlError:
            return None
    for event in events[:RECENT_SCAN]:
        if node is None or fql.matches(node, event.message):
            return event
    return None


@dataclass
class Loaded:
    """A test event loaded for Event Content (``event`` is None when nothing was loaded)."""

    event: dict[str, Any] | None = None
    event_id: int | None = None
    note: str = ""


def load_test_event(
    destination: Destination,
    how: str,
    *,
    current: Event | None = None,
    trigger: str | None = None,
    sample_type: str = "track",
    action: str | None = None,
) -> Loaded:
    """``how``: ``recent`` (the newest stored event), ``older`` (the one before ``current``),
    both among events matching ``trigger`` when given, or ``sample`` (a generated one)."""
    if how == "sample":
        return Loaded(sample(sample_type, action=action))
    if how not in ("recent", "older"):
        return Loaded()
    found = recent_event(
        destination, older_than=current if how == "older" else None, trigger=trigger
    )
    if found is not None:
        return Loaded(found.message, found.pk)
    older = "older " if how == "older" else ""
    return Loaded(note=f"No {older}stored event{' matches the trigger' if trigger else ''}.")


@dataclass
class Preview:
    """The Event Content panel's state: a panel, or why there is none."""

    panel: Panel | None = None
    message: str = ""
    timing: Timing | None = None


def preview(
    destination: Destination,
    config: MappingConfig | None,
    event: dict | None,
    stored: Event | None,
    problems: Sequence[str] = (),
    event_error: str = "",
) -> Preview:
    """``problems``: why there is no ``config`` (unusable field inputs), to say so instead;
    ``event_error``: why the test event cannot be read."""
    if event_error:
        return Preview(message=f"The test event cannot be read: {event_error}")
    if event is None:
        return Preview(message="Paste a test event, load a recent one or generate a sample.")
    if config is None:
        return Preview(message="To see the preview, fix: " + "; ".join(problems))
    timing = timing_for(event, stored, timezone.now())
    [panel] = evaluate_panels(event, plan_with(destination, config), timing, include_disabled=True)
    return Preview(panel=panel, timing=timing)


# Impact ----------------------------------------------------------------------------------------


@dataclass
class Impact:
    """How the edited mapping would treat the last real events, compared with the saved one."""

    total: int = 0
    matched_before: int = 0
    matched_after: int = 0
    changed: int = 0
    first_changed: Event | None = None
    diff: list[str] = field(default_factory=list)


def _content(evaluation) -> dict[str, Any]:
    """What Event Content shows that a change can alter (records carry the request bodies)."""
    result = evaluation.result
    return {
        "status": evaluation.status,
        "error": evaluation.error,
        "fields": result.fields if result else None,
        "records": [{"endpoint": r.endpoint, "body": r.body} for r in evaluation.records],
    }


def impact(destination: Destination, mapping: Mapping, config: MappingConfig) -> Impact:
    before_plan = plan_with(destination, saved_config(mapping))
    after_plan = plan_with(destination, config)
    now_ms = epoch_ms(timezone.now())
    report = Impact()
    for event in source_events(destination)[:IMPACT_EVENTS]:
        times = {
            "stored_event_id": str(event.pk),
            "received_at_ms": epoch_ms(event.received_at),
            "now_ms": now_ms,
            "include_disabled": True,
        }
        [before] = evaluate_event(event.message, before_plan, **times)
        [after] = evaluate_event(event.message, after_plan, **times)
        report.total += 1
        report.matched_before += before.matched
        report.matched_after += after.matched
        old, new = _content(before), _content(after)
        if old != new:
            report.changed += 1
            if report.first_changed is None:
                report.first_changed = event
                report.diff = text_diff(old, new, "saved mapping", "your changes")
    return report


def text_diff(old: Any, new: Any, old_name: str, new_name: str) -> list[str]:
    """A unified diff of two JSON values, pretty-printed (one line per list item)."""
    return list(
        difflib.unified_diff(
            json.dumps(old, indent=2, ensure_ascii=False).splitlines(),
            json.dumps(new, indent=2, ensure_ascii=False).splitlines(),
            fromfile=old_name,
            tofile=new_name,
            lineterm="",
        )
    )


# Send test event -------------------------------------------------------------------------------


def send_editor_test(
    target: Destination,
    mapping: Mapping,
    config: MappingConfig,
    event: dict[str, Any],
    *,
    stored: Event | None = None,
) -> test_send.SendTestResult:
    """The editor's "Send test event": ``config`` (saved or not) to ``target``'s Mixpanel project,
    through the live path (:func:`mappings.delivery.test_send.send_test_event`)."""
    if target.pk == mapping.destination_id and is_saved_state(config, mapping):
        return test_send.send_test_event(target, mapping, event, stored_event=stored)
    return test_send.send_test_event(
        target, mapping, event, stored_event=stored, plan=plan_with(target, config)
    )
