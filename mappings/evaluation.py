"""Evaluate one Segment event against a destination's mappings: the one code path.

Pure (no Django, no I/O). The preview CLI, the console's Event Content panel, "Send test event"
and the Celery workers all call :func:`evaluate_event`; the workers then batch the records of many
events with :func:`build_requests_for` while the preview builds them for the event alone. So what
the preview shows is what the worker sends.

Steps per mapping, in order: enabled? → event eligible under ``integrations``? → trigger (FQL) →
mapping-kit transform → action (§5 coercion, records) → pre-flight checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .destinations.mixpanel import perform as mixpanel_perform
from .destinations.mixpanel import preflight, wire
from .destinations.mixpanel.settings_schema import validate_settings
from .destinations.mixpanel.types import (
    ActionResult,
    MixpanelSettings,
    PayloadValidationError,
    Record,
    SettingsError,
)
from .engine import fql, mapping_kit
from .engine.integrations import MIXPANEL_KEYS, integrations_decision


@dataclass(frozen=True)
class MappingConfig:
    """A mapping as stored: Segment's subscription shape."""

    name: str
    trigger: str
    action: str
    mapping: dict[str, Any]
    enabled: bool = True
    id: int | None = None
    version: int = 1


@dataclass(frozen=True)
class CompiledMapping:
    config: MappingConfig
    trigger: fql.Node | None
    trigger_error: str | None
    compiled: mapping_kit.CompiledMapping

    @property
    def batch_size(self) -> int:
        size = self.config.mapping.get("batch_size", 1000)
        return size if isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 2000 else 1000


@dataclass(frozen=True)
class DestinationPlan:
    """A destination ready to evaluate events: settings validated, mappings compiled once."""

    settings: MixpanelSettings | None
    settings_errors: tuple[str, ...]
    mappings: tuple[CompiledMapping, ...]


def compile_mapping(config: MappingConfig) -> CompiledMapping:
    try:
        node, error = fql.parse(config.trigger), None
    except fql.FqlError as exc:
        node, error = None, str(exc)
    return CompiledMapping(config, node, error, mapping_kit.compile_mapping(config.mapping))


def plan_destination(raw_settings: dict[str, Any], mappings: list[MappingConfig]) -> DestinationPlan:
    try:
        settings, errors = validate_settings(raw_settings), ()
    except SettingsError as exc:
        settings, errors = None, tuple(exc.messages)
    return DestinationPlan(settings, errors, tuple(compile_mapping(m) for m in mappings))


@dataclass
class MappingEvaluation:
    """What happened to one event under one mapping. ``status`` is one of:

    ``disabled``, ``filtered_integrations``, ``not_matched``, ``invalid_trigger``,
    ``invalid_settings``, ``mapping_error``, ``validation_error``, ``skipped``, ``ready``.
    Only ``ready`` has records to send.
    """

    mapping: MappingConfig
    status: str
    why: str = ""
    conditions: list[tuple[str, bool]] = field(default_factory=list)
    resolved: Any = None
    result: ActionResult | None = None
    error: str | None = None
    error_status: int | None = None
    findings: list[preflight.Finding] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.status not in {
            "disabled",
            "filtered_integrations",
            "not_matched",
            "invalid_trigger",
        }

    @property
    def records(self) -> list[Record]:
        return self.result.records if self.result and self.status == "ready" else []


TRIGGER_NOT_MATCHED = "the trigger did not match"


def explain_non_match(conditions: list[tuple[str, bool]]) -> str:
    try:
        return _non_match_text(tuple(conditions))
    except TypeError:  # unhashable conditions: not from fql.explain, so not worth caching
        return _non_match_text.__wrapped__(conditions)


@lru_cache(maxsize=1024)
def _non_match_text(conditions: Sequence[tuple[str, bool]]) -> str:
    # Cached: each trigger only has a few outcomes, and every event that misses a mapping needs one.
    failed = [text for text, ok in conditions if not ok]
    if not failed:
        return TRIGGER_NOT_MATCHED
    return "not matched: " + "; ".join(f"{text} is false" for text in failed)


def evaluate_event(
    event: Any,
    plan: DestinationPlan,
    *,
    stored_event_id: str,
    received_at_ms: int,
    now_ms: int,
    include_disabled: bool = False,
    detail: bool = True,
) -> list[MappingEvaluation]:
    """Evaluate ``event`` against every mapping of ``plan`` (disabled ones only when asked).

    ``detail=False`` is for the workers: it skips the per-condition explanation, so
    ``conditions`` is always empty and a trigger that did not match has the generic ``why``
    "the trigger did not match". Everything that is sent, and every status, is the same.
    """
    is_dict = isinstance(event, dict)
    enabled_by_integrations, deciding_key = integrations_decision(
        event.get("integrations") if is_dict else None, MIXPANEL_KEYS
    )
    results: list[MappingEvaluation] = []
    for compiled in plan.mappings:
        config = compiled.config
        if not config.enabled and not include_disabled:
            continue
        trigger = compiled.trigger
        if trigger is None:
            why = f"invalid trigger: {compiled.trigger_error}"
            results.append(MappingEvaluation(config, "invalid_trigger", why=why))
            continue
        conditions = fql.explain(trigger, event) if detail and is_dict else []
        if not fql.matches(trigger, event):
            # Most mappings miss most events: this path stays short.
            why = explain_non_match(conditions) if conditions else TRIGGER_NOT_MATCHED
            results.append(MappingEvaluation(config, "not_matched", why=why, conditions=conditions))
            continue
        results.append(
            _evaluate_matched(
                event,
                plan,
                compiled,
                conditions,
                enabled_by_integrations=enabled_by_integrations,
                deciding_key=deciding_key,
                stored_event_id=stored_event_id,
                received_at_ms=received_at_ms,
                now_ms=now_ms,
            )
        )
    return results


def _evaluate_matched(
    event: Any,
    plan: DestinationPlan,
    compiled: CompiledMapping,
    conditions: list[tuple[str, bool]],
    *,
    enabled_by_integrations: bool,
    deciding_key: str | None,
    stored_event_id: str,
    received_at_ms: int,
    now_ms: int,
) -> MappingEvaluation:
    config = compiled.config
    if not enabled_by_integrations:
        return MappingEvaluation(
            config,
            "filtered_integrations",
            why=f'blocked by integrations: "{deciding_key}" disables Mixpanel for this event',
            conditions=conditions,
        )
    base = MappingEvaluation(config, "ready", why="matched", conditions=conditions)
    if not config.enabled:
        base.why = "matched, but the mapping is disabled"
    if plan.settings is None:
        base.status, base.error, base.error_status = "invalid_settings", " ".join(plan.settings_errors), 400
        return base
    try:
        base.resolved = compiled.compiled.transform(event)
    except mapping_kit.MappingError as exc:
        base.status, base.error, base.error_status = "mapping_error", str(exc), 400
        return base
    try:
        base.result = mixpanel_perform.perform(
            config.action,
            base.resolved if isinstance(base.resolved, dict) else {},
            plan.settings,
            event=event,
            stored_event_id=stored_event_id,
            received_at_ms=received_at_ms,
        )
    except PayloadValidationError as exc:
        base.status, base.error, base.error_status = "validation_error", exc.message, exc.status
        return base
    if base.result.skipped:
        base.status = "skipped"
        base.why = base.result.skipped
    base.findings = preflight.check(
        base.result.records, plan.settings, now_ms=now_ms, event=event, mapping_action=config.action
    )
    return base


def build_requests_for(
    records: list[Record],
    plan: DestinationPlan,
    compiled: CompiledMapping,
    *,
    api_url_override: str | None,
    user_agent: str,
    import_max_bytes: int,
    profile_batch_size: int,
) -> list[wire.PreparedRequest]:
    """The requests carrying ``records`` (all from one mapping of one destination)."""
    assert plan.settings is not None
    return wire.build_requests(
        records,
        plan.settings,
        api_url_override=api_url_override,
        user_agent=user_agent,
        batch_size=compiled.batch_size,
        import_max_bytes=import_max_bytes,
        profile_batch_size=profile_batch_size,
    )
