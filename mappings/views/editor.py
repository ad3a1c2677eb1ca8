"""The mapping editor: trigger builder, field mappings and Event Content with a live preview.

One page, one form (``MappingEditorForm``). Saving is a plain POST to the page. The other
endpoints take the same form data and answer with one inline partial of
``mappings/editor.html`` for htmx (or the whole page without JavaScript, so every button also
works as a plain form submission): the builder's re-render, the validate-as-you-type check, one
field's re-render, the preview, and loading a test event. None of them writes anything.
Test send, impact, history and restore live in :mod:`.editor_tools`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from ..configuration import ConfigError, save_mapping
from ..forms.editor import MappingEditorForm, PayloadForm, editor_data
from ..forms.editor_fields import MODE_LABELS, ROW_MODES, apply_field_action, pretty_json
from ..forms.editor_trigger import MODES
from ..models import Destination, Mapping
from . import editor_support as support
from . import trigger_builder as tb
from .common import (
    HtmxHttpRequest,
    _get_mapping,
    destination_tester_url,
    render_page,
    staff_required,
)
from .event_content import api_override, for_display, payload_paths
from .event_samples import ACTION_SAMPLES, SAMPLE_TYPES, sample

TEMPLATE = "mappings/editor.html"
# Event Content keeps the test event across a save (which redirects): up to this many characters.
SESSION_PAYLOAD_CHARS = 64 * 1024
# Fired after a builder or field re-render, so the preview follows structural edits too.
CHANGED_EVENT = "editor-changed"


def _session_key(mapping: Mapping) -> str:
    return f"segmix-editor-payload-{mapping.pk}"


def _starting_payload(
    request: HtmxHttpRequest, mapping: Mapping
) -> tuple[dict[str, Any], int | None]:
    """The event Event Content opens with: ``?event=<id>``, the one kept across a save, or a
    sample for the action."""
    destination = mapping.destination
    event_id = request.GET.get("event", "")
    usable = event_id.isdigit() and len(event_id) <= 18  # a database integer
    stored = support.stored_event(destination, int(event_id)) if usable else None
    if stored is not None:
        return stored.message, stored.pk
    kept = request.session.pop(_session_key(mapping), None)
    if isinstance(kept, dict) and isinstance(kept.get("event"), dict):
        return kept["event"], kept.get("event_id")
    return sample(ACTION_SAMPLES.get(mapping.action, "track"), action=mapping.action), None


def build_context(
    request: HtmxHttpRequest,
    mapping: Mapping,
    form: MappingEditorForm,
    payload: PayloadForm,
    **extra: Any,
) -> dict[str, Any]:
    """Everything ``mappings/editor.html`` and its partials read."""
    destination = mapping.destination
    form.is_valid()
    payload.is_valid()
    event = payload.event
    stored = support.stored_event(destination, payload.cleaned_data.get("event_id"))
    trigger = form.trigger
    context = {
        "section": "destinations",
        "destination": destination,
        "mapping": mapping,
        "form": form,
        "trigger": trigger,
        "tree": tb.display_tree(trigger.rows, trigger.row_errors, trigger.focus_row)
        if trigger.mode == "builder"
        else None,
        "trigger_modes": MODES,
        "trigger_row_indexes": [
            (i, trigger.row_errors.get(i, ""))
            for i, row in enumerate(trigger.rows)
            if isinstance(row, tb.ConditionRow)
        ],
        "field_kinds": list(tb.FIELDS.values()),
        "row_modes": [(mode, MODE_LABELS[mode]) for mode in ROW_MODES],
        "action": form.action,
        "inputs": form.inputs,
        "payload_form": payload,
        "payload_error": payload.errors.get("payload"),
        "stored_event": stored if stored is not None and event == stored.message else None,
        "sample_types": SAMPLE_TYPES,
        "suggestions": payload_paths(event),
        # Lazy: only the partials that show the preview pay for the evaluation.
        "preview": SimpleLazyObject(
            lambda: support.preview(
                destination,
                form.config(),
                event,
                stored,
                form.input_problems(),
                " ".join(payload.errors.get("payload", [])),
            )
        ),
        "api_override": api_override(),
        "targets": Destination.objects.filter(kind=destination.kind).order_by("name"),
        "versions": mapping.versions.order_by("-version")[:50],
        "tester_url": destination_tester_url(destination),
        "urls": _urls(mapping),
        "impact_events": support.IMPACT_EVENTS,
        # Out-of-band swaps (the preview's status line, suggestions, row errors) only make
        # sense in htmx fragments; a full page already has those elements.
        "oob": bool(request.htmx),
    }
    context.update(extra)
    context["test_result"] = for_display(context.get("test_result"))
    return context


def _urls(mapping: Mapping) -> dict[str, str]:
    args = [mapping.destination_id, mapping.pk]
    names = (
        "edit",
        "trigger",
        "trigger_check",
        "fields",
        "preview",
        "payload",
        "test_send",
        "impact",
    )
    urls = {
        name: reverse(f"mapping_edit_{name}" if name != "edit" else "mapping_edit", args=args)
        for name in names
    }
    urls["list"] = reverse("mapping_list", args=[mapping.destination_id])
    return urls


def render_editor(
    request: HtmxHttpRequest,
    mapping: Mapping,
    form: MappingEditorForm,
    payload: PayloadForm,
    *,
    partial: str | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = build_context(request, mapping, form, payload, **extra)
    return render_page(request, TEMPLATE, context, partial=partial, status=status)


def bound_forms(
    request: HtmxHttpRequest, mapping: Mapping, data: Any = None, *, trigger_actions: bool = False
) -> tuple[MappingEditorForm, PayloadForm]:
    data = request.POST if data is None else data
    return (
        MappingEditorForm(data, mapping=mapping, trigger_actions=trigger_actions),
        PayloadForm(data),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def mapping_edit(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """GET shows the mapping; POST validates and saves it (a new version when it changed)."""
    mapping = _get_mapping(request, pk, mapping_pk)
    if request.method == "GET":
        event, event_id = _starting_payload(request, mapping)
        data = editor_data(mapping, payload=event)
        if event_id:
            data["event_id"] = str(event_id)
        form, payload = bound_forms(request, mapping, data)
        return render_editor(request, mapping, form, payload)
    form, payload = bound_forms(request, mapping)
    if not form.is_valid():
        return render_editor(request, mapping, form, payload, status=422)
    mapping.name = form.cleaned_data["name"]
    mapping.enabled = form.cleaned_data["enabled"]
    mapping.trigger = form.trigger.fql
    mapping.mapping = form.mapping
    before = mapping.version
    try:
        save_mapping(mapping, saved_by=request.user.get_username())
    except ConfigError as exc:  # validated above; a race with another save can still land here
        form.add_error(None, "; ".join(exc.messages))
        mapping.refresh_from_db()
        return render_editor(request, mapping, form, payload, status=422)
    if (
        payload.is_valid()
        and payload.event
        and len(payload.cleaned_data["payload"]) <= SESSION_PAYLOAD_CHARS
    ):
        request.session[_session_key(mapping)] = {
            "event": payload.event,
            "event_id": payload.cleaned_data.get("event_id"),
        }
    if mapping.version != before:
        messages.success(request, f"Saved as version {mapping.version}.")
    else:
        messages.success(request, "Saved: nothing had changed, so no new version.")
    return redirect("mapping_edit", mapping.destination_id, mapping.pk)


@require_POST
@staff_required
def mapping_edit_trigger(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """The trigger section again, after a builder button (add/remove a row or group, switch tab)
    or a select that changes which inputs a row has."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form, payload = bound_forms(request, mapping, trigger_actions=True)
    response = render_editor(request, mapping, form, payload, partial="trigger")
    return trigger_client_event(response, CHANGED_EVENT) if request.htmx else response


@require_POST
@staff_required
def mapping_edit_trigger_check(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """Validate-as-you-type: the canonical FQL, the lint and the errors, nothing else."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form, payload = bound_forms(request, mapping)
    return render_editor(request, mapping, form, payload, partial="trigger-check", check_only=True)


@require_POST
@staff_required
def mapping_edit_fields(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """One field again: after switching its mode, or adding/removing a key/value row."""
    mapping = _get_mapping(request, pk, mapping_pk)
    data: Any = request.POST
    key = request.POST.get("field", "")
    action = request.POST.get("field_action", "")
    if action:
        key, data = apply_field_action(request.POST, action)
    form, payload = bound_forms(request, mapping, data)
    context_extra: dict[str, Any] = {}
    if request.htmx:
        form.is_valid()
        item = next((i for i in form.inputs if i.key == key), None)
        if item is None:
            return HttpResponse("unknown field", status=400, content_type="text/plain")
        context_extra = {"item": item, "focus_field": key if action.startswith("add") else ""}
    response = render_editor(request, mapping, form, payload, partial="field", **context_extra)
    return trigger_client_event(response, CHANGED_EVENT) if request.htmx else response


@require_POST
@staff_required
def mapping_edit_preview(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """The Event Content panel for the editor's state and the test event. No side effects."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form, payload = bound_forms(request, mapping)
    return render_editor(request, mapping, form, payload, partial="preview")


@require_POST
@staff_required
def mapping_edit_payload(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """Replace the test event: the most recent stored one (or the one before the current one),
    optionally only among events matching the trigger, or a generated sample."""
    mapping = _get_mapping(request, pk, mapping_pk)
    destination = mapping.destination
    form, payload = bound_forms(request, mapping)
    form.is_valid()
    payload.is_valid()
    matching_only = payload.cleaned_data.get("matching_only")
    loaded = support.Loaded(note="Fix the trigger first: it picks the matching events.")
    if not matching_only or form.trigger.fql:
        loaded = support.load_test_event(
            destination,
            request.POST.get("load", ""),
            current=support.stored_event(destination, payload.cleaned_data.get("event_id")),
            trigger=form.trigger.fql if matching_only else None,
            sample_type=payload.cleaned_data.get("sample_type") or "track",
            action=mapping.action,
        )
    data = request.POST.copy()
    if loaded.event is not None:
        data["payload"] = pretty_json(loaded.event)
        data["event_id"] = str(loaded.event_id or "")
    form, payload = bound_forms(request, mapping, data)
    return render_editor(
        request, mapping, form, payload, partial="event-content", payload_note=loaded.note
    )
