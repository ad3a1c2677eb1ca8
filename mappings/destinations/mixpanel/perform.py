"""The action layer's entry points: a resolved mapping → validated payload → Mixpanel records.

``perform`` evaluates one event, ``perform_batch`` several (batch semantics, §5.2). Both are pure:
``time`` and ``$insert_id`` depend only on the stored event (``stored_event_id``, ``received_at_ms``)
and the mapping, so the preview, the test send and every retry produce the same records (§13).

``resolved`` is what mapping-kit's ``transform(mapping, event)`` returned: a plain dict where a
missing key is "absent" and ``None`` is ``null``. ``event`` is the stored Segment event (the
simplified ``$identify`` reads its ``timestamp`` and ``messageId``).

>>> from .types import MixpanelSettings
>>> result = perform("alias", {"alias": "u1", "distinct_id": "anon-1"},
...     MixpanelSettings(project_token="tok"), event={}, stored_event_id="1", received_at_ms=0)
>>> result.records, result.skipped[:13]
([], 'alias ignored')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mappings.engine.jsvalues import js_number_to_string, js_type

from .actions import get_action
from .coerce import PreparedPayload, prepare_payload
from .identity import (
    PLACEHOLDER_IDS,
    insert_id_base,
    insert_id_for,
    is_valid_insert_id,
    resolve_time,
)
from .profile_records import (
    ALIAS_SKIPPED_REASON,
    alias_record,
    group_record,
    identify_track_record,
    increment_record,
    profile_record,
    simplified_identify_record,
)
from .records import track_event_records, track_purchase_records
from .settings_schema import validate_settings
from .types import ActionResult, MixpanelSettings, Note, PayloadValidationError, Record

__all__ = ["BATCH_NOT_SUPPORTED", "perform", "perform_batch", "uses_batch_semantics"]

BATCH_NOT_SUPPORTED = "This action does not support batched requests."


def uses_batch_semantics(action_id: str, resolved: Mapping[str, Any]) -> bool:
    """trackEvent/trackPurchase with ``enable_batching`` true (after §5.4 coercion) → batch."""
    if not get_action(action_id).supports_batch:
        return False
    flag = resolved.get("enable_batching")
    if isinstance(flag, list) and len(flag) == 1:
        flag = flag[0]
    return flag is True or flag == "true" or (js_type(flag) == "number" and flag == 1)


def _settings(settings: MixpanelSettings | Mapping[str, Any]) -> MixpanelSettings:
    return settings if isinstance(settings, MixpanelSettings) else validate_settings(settings)


def perform(
    action_id: str,
    resolved: Mapping[str, Any],
    settings: MixpanelSettings | Mapping[str, Any],
    *,
    event: Mapping[str, Any] | None,
    stored_event_id: str,
    received_at_ms: int,
    batching: bool | None = None,
) -> ActionResult:
    """Evaluate one event's resolved mapping.

    Semantics: batch when ``batching`` is true, or (when ``batching`` is ``None``) when the action
    is trackEvent/trackPurchase and the mapping's ``enable_batching`` is true; single otherwise.
    Other actions always use single semantics.

    Raises :class:`PayloadValidationError` (§5.4, §16) and, for raw settings,
    :class:`~.types.SettingsError` (§3.3).
    """
    action = get_action(action_id)
    valid_settings = _settings(settings)
    if batching is None:
        batch = uses_batch_semantics(action_id, resolved)
    else:
        batch = bool(batching) and action.supports_batch
    prepared = prepare_payload(action, resolved, batch=batch)
    return _build(
        action_id,
        prepared,
        valid_settings,
        event=event or {},
        stored_event_id=stored_event_id,
        received_at_ms=received_at_ms,
    )


def perform_batch(
    action_id: str,
    resolved_list: Sequence[Mapping[str, Any]],
    settings: MixpanelSettings | Mapping[str, Any],
    *,
    events: Sequence[Mapping[str, Any] | None],
    stored_event_ids: Sequence[str],
    received_at_ms: Sequence[int],
) -> list[ActionResult | PayloadValidationError]:
    """Evaluate several events of one mapping with batch semantics (root ``""`` kept, §5.2).

    One entry per event, in order: its result, or the validation error that stops only that event.
    A non-batch action raises ``PayloadValidationError(BATCH_NOT_SUPPORTED, status=501)``.
    """
    action = get_action(action_id)
    if not action.supports_batch:
        raise PayloadValidationError(BATCH_NOT_SUPPORTED, status=501)
    if not (len(resolved_list) == len(events) == len(stored_event_ids) == len(received_at_ms)):
        raise ValueError("perform_batch: one event, stored id and receivedAt per resolved payload")
    valid_settings = _settings(settings)
    results: list[ActionResult | PayloadValidationError] = []
    for resolved, event, stored_id, received in zip(
        resolved_list, events, stored_event_ids, received_at_ms, strict=True
    ):
        try:
            prepared = prepare_payload(action, resolved, batch=True)
            results.append(
                _build(
                    action_id,
                    prepared,
                    valid_settings,
                    event=event or {},
                    stored_event_id=stored_id,
                    received_at_ms=received,
                )
            )
        except PayloadValidationError as error:
            results.append(error)
    return results


def _why_derived(candidate: str) -> str:
    if len(candidate) > 36:
        return f'"{candidate}" has {len(candidate)} characters (Mixpanel allows 36)'
    if candidate.lower() in PLACEHOLDER_IDS:
        return f'"{candidate}" is a placeholder value that Mixpanel rejects'
    return f"\"{candidate}\" has characters other than letters, digits and '-'"


def _insert_id_note(candidate: str, derived: str, record_index: int, *, mapped: bool) -> Note:
    why = (
        _why_derived(candidate)
        if mapped
        else f'no insert_id was mapped; derived from "{candidate}"'
    )
    return Note(
        "insert-id-derived", f"$insert_id derived: {why} → {derived}", record_index, "$insert_id"
    )


def _time_note(record_index: int) -> Note:
    return Note(
        "time-from-received-at",
        "time is the moment segmix received the event: the mapped time is missing or not a date "
        "(Segment would use the send time).",
        record_index,
        "time",
    )


def _stored_message_id(event: Mapping[str, Any]) -> Any:
    message_id = event.get("messageId")
    if js_type(message_id) == "number":
        return js_number_to_string(message_id)
    return message_id


def _build(
    action_id: str,
    prepared: PreparedPayload,
    settings: MixpanelSettings,
    *,
    event: Mapping[str, Any],
    stored_event_id: str,
    received_at_ms: int,
) -> ActionResult:
    payload = prepared.fields
    result = ActionResult(
        fields=payload,
        removed_fields=prepared.removed,
        dropped_fields=prepared.dropped,
        coerced_fields=prepared.coerced,
    )
    if action_id in ("trackEvent", "trackPurchase"):
        _build_track(action_id, payload, settings, result, stored_event_id, received_at_ms)
    elif action_id == "identifyUser":
        _build_identify(payload, settings, result, event, stored_event_id, received_at_ms)
    elif action_id == "groupIdentifyUser":
        result.records.append(group_record(payload, settings))
    elif action_id == "alias":
        if settings.id_merge_mode == "original":
            result.records.append(alias_record(payload, settings))
        else:
            result.skipped = ALIAS_SKIPPED_REASON
            result.notes.append(Note("alias-skipped", ALIAS_SKIPPED_REASON))
    elif action_id == "incrementProperties":
        _require_token(settings)
        record = increment_record(payload, settings)
        if record is None:
            result.skipped = "nothing to increment"
        else:
            result.records.append(record)
    return result


def _require_token(settings: MixpanelSettings) -> None:
    if not settings.project_token:
        raise PayloadValidationError("Missing project token", code="Missing required field")


def _build_track(
    action_id: str,
    payload: dict[str, Any],
    settings: MixpanelSettings,
    result: ActionResult,
    stored_event_id: str,
    received_at_ms: int,
) -> None:
    time_ms, fell_back = resolve_time(payload.get("time"), received_at_ms=received_at_ms)
    mapped_id = payload.get("insert_id")
    insert_id = insert_id_for(mapped_id, stored_event_id=stored_event_id)
    if action_id == "trackEvent":
        records, notes = track_event_records(
            payload, settings, time_ms=time_ms, insert_id=insert_id
        )
    else:
        records, notes = track_purchase_records(
            payload, settings, time_ms=time_ms, insert_id=insert_id, stored_event_id=stored_event_id
        )
    result.records.extend(records)
    base = insert_id_base(mapped_id, stored_event_id=stored_event_id)
    mapped = base == mapped_id
    if insert_id != base or not mapped:
        result.notes.append(_insert_id_note(base, insert_id, 0, mapped=mapped))
    # Product ids are "<i><base>" when that is valid; note the ones that were not (§13).
    for index, record in enumerate(records[1:], start=1):
        candidate = str(index - 1) + base
        if record.insert_id != candidate and is_valid_insert_id(base):
            result.notes.append(
                _insert_id_note(candidate, record.insert_id or "", index, mapped=True)
            )
    if fell_back:
        result.notes.append(_time_note(0))
    result.notes.extend(notes)


def _build_identify(
    payload: dict[str, Any],
    settings: MixpanelSettings,
    result: ActionResult,
    event: Mapping[str, Any],
    stored_event_id: str,
    received_at_ms: int,
) -> None:
    _require_token(settings)
    identity: Record | None
    if settings.id_merge_mode == "original":
        identity = identify_track_record(payload, settings)
    else:
        # identifyUser has no time or insert_id fields: both come from the stored event (§9.4).
        time_ms, fell_back = resolve_time(event.get("timestamp"), received_at_ms=received_at_ms)
        message_id = _stored_message_id(event)
        insert_id = insert_id_for(message_id, stored_event_id=stored_event_id)
        identity = simplified_identify_record(
            payload, settings, time_ms=time_ms, insert_id=insert_id
        )
        if identity is not None:
            base = insert_id_base(message_id, stored_event_id=stored_event_id)
            if insert_id != base or base != message_id:
                result.notes.append(_insert_id_note(base, insert_id, 0, mapped=base == message_id))
            if fell_back:
                result.notes.append(_time_note(0))
    if identity is not None:
        result.records.append(identity)
    profile = profile_record(payload, settings)
    if profile is not None:
        result.records.append(profile)
    if not result.records:
        result.skipped = (
            "nothing to send: no traits, and no anonymous id to identify"
            if settings.id_merge_mode == "original"
            else "nothing to send: no traits, and no user id + anonymous id pair to merge"
        )
