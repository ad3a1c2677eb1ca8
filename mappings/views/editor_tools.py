"""The mapping editor's explicit actions: Send test event, Check impact, History (diff, restore).

"Send test event" is the only one that talks to Mixpanel, and only on its own explicit POST.
"Check impact" and the diff read and evaluate, never write. Restore saves (a new version).
"""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from ..configuration import ConfigError, save_mapping
from ..forms.editor import MappingEditorForm, PayloadForm, TestSendForm, editor_data
from ..models import Mapping
from . import editor_support as support
from .common import HtmxHttpRequest, _get_mapping, staff_required
from .editor import bound_forms, render_editor


@require_POST
@staff_required
def mapping_edit_test_send(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """Send the test event through the editor's mapping now, for real, and show every answer."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form, payload = bound_forms(request, mapping)
    target_form = TestSendForm(request.POST, destination=mapping.destination)
    form.is_valid()
    payload.is_valid()
    config = form.config()
    result, problem, target = None, "", None
    if payload.event is None:
        problem = "Enter a valid test event (a JSON object) first."
    elif config is None:
        problem = "Fix the field mappings marked with an error first."
    elif not target_form.is_valid():
        problem = "Choose a Mixpanel destination to send to."
    else:
        target = target_form.target()
        stored = support.stored_event(mapping.destination, payload.cleaned_data.get("event_id"))
        if stored is not None and stored.message != payload.event:
            stored = None  # edited after loading: an ad-hoc event now
        result = support.send_editor_test(target, mapping, config, payload.event, stored=stored)
    return render_editor(
        request,
        mapping,
        form,
        payload,
        partial="test-result",
        test_result=result,
        test_problem=problem,
        test_target=target,
        test_unsaved=config is not None and not support.is_saved_state(config, mapping),
    )


@require_POST
@staff_required
def mapping_edit_impact(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """How the unsaved change would treat the last real events. Side-effect free."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form, payload = bound_forms(request, mapping)
    config = form.config()
    report = support.impact(mapping.destination, mapping, config) if config else None
    problem = "" if config else "Fix the field mappings marked with an error first."
    return render_editor(
        request, mapping, form, payload, partial="impact", impact=report, impact_problem=problem
    )


def _saved_forms(
    request: HtmxHttpRequest, mapping: Mapping
) -> tuple[MappingEditorForm, PayloadForm]:
    return bound_forms(request, mapping, editor_data(mapping))


@require_GET
@staff_required
def mapping_version_diff(
    request: HtmxHttpRequest, pk: int, mapping_pk: int, version: int
) -> HttpResponse:
    """The difference between a saved version and the mapping as it is saved now."""
    mapping = _get_mapping(request, pk, mapping_pk)
    saved = get_object_or_404(mapping.versions, version=version)
    diff = support.text_diff(
        saved.snapshot,
        mapping.snapshot(),
        f"version {saved.version}",
        f"current (version {mapping.version})",
    )
    form, payload = _saved_forms(request, mapping)
    return render_editor(
        request, mapping, form, payload, partial="diff", diff=diff, diff_version=saved
    )


@require_POST
@staff_required
def mapping_version_restore(
    request: HtmxHttpRequest, pk: int, mapping_pk: int, version: int
) -> HttpResponse:
    """Make a saved version current again; it is saved as a new version (history only grows)."""
    mapping = _get_mapping(request, pk, mapping_pk)
    saved = get_object_or_404(mapping.versions, version=version)
    snapshot = saved.snapshot
    name_taken = (
        Mapping.objects.filter(destination_id=mapping.destination_id, name=snapshot.get("name"))
        .exclude(pk=mapping.pk)
        .exists()
    )
    if not name_taken and snapshot.get("name"):
        mapping.name = snapshot["name"]
    mapping.trigger = snapshot.get("trigger", mapping.trigger)
    mapping.action = snapshot.get("action", mapping.action)
    mapping.mapping = snapshot.get("mapping", mapping.mapping)
    mapping.enabled = bool(snapshot.get("enabled", mapping.enabled))
    try:
        save_mapping(mapping, saved_by=request.user.get_username())
    except (ConfigError, IntegrityError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ConfigError) else str(exc)
        messages.error(request, f"Version {saved.version} cannot be restored: {text}")
        return redirect("mapping_edit", mapping.destination_id, mapping.pk)
    text = f"Version {saved.version} restored as version {mapping.version}."
    if name_taken:
        text += (
            f" Its name “{snapshot['name']}” is now used by another mapping, so the name was kept."
        )
    messages.success(request, text)
    return redirect("mapping_edit", mapping.destination_id, mapping.pk)
