"""The Mappings tab of a destination: presets and custom mappings in order, and the "…" menu
(edit, duplicate, rename, move up/down, delete) plus "New Mapping"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ..configuration import ConfigError, save_mapping
from ..delivery.work import ERROR_STATUSES
from ..destinations.mixpanel.actions import ACTIONS, get_action
from ..engine import fql
from ..forms import MappingRenameForm, NewMappingForm, ToggleForm
from ..forms.mapping_list import MoveForm, unique_mapping_name
from ..models import Delivery, Destination, Mapping
from .common import (
    HtmxHttpRequest,
    _get_destination,
    _get_mapping,
    destination_deliveries_url,
    destination_tester_url,
    mapping_edit_url,
    render_page,
    staff_required,
)
from .trigger_words import describe_trigger

TEMPLATE = "mappings/list.html"
# Spec §11: what an alias mapping does on a Simplified ID Merge project.
ALIAS_WARNING = (
    "alias ignored: Mixpanel ignores $create_alias on projects using Simplified ID Merge "
    '(set ID Merge Mode to "original" if your project uses Original ID Merge)'
)


@dataclass
class Counts:
    delivered: int = 0
    failed: int = 0


@dataclass
class Row:
    """One mapping as the table shows it."""

    mapping: Mapping
    words: str
    fql: str
    trigger_error: str
    action_title: str
    counts: Counts
    alias_warning: bool
    edit_url: str
    is_first: bool
    is_last: bool
    rename_form: MappingRenameForm


def mapping_counts(destination: Destination, since: datetime) -> dict[int, Counts]:
    """Deliveries since ``since`` per mapping id: delivered (every record accepted) and failed
    (an evaluation error or a record Mixpanel refused for good).

    Reads ``Delivery.outcome`` in Python: fine for a day of one destination's traffic; a counter
    table is the optimisation if it ever is not.
    """
    counts: dict[int, Counts] = {}
    outcomes = Delivery.objects.filter(destination=destination, created_at__gte=since)
    for outcome in outcomes.values_list("outcome", flat=True).iterator():
        for key, entry in (outcome or {}).items():
            if not isinstance(entry, dict) or not str(key).isdigit():
                continue
            records = [r.get("outcome") for r in entry.get("records") or [] if isinstance(r, dict)]
            tally = counts.setdefault(int(key), Counts())
            if entry.get("status") in ERROR_STATUSES or "failed" in records:
                tally.failed += 1
            elif records and all(state == "delivered" for state in records):
                tally.delivered += 1
    return counts


@require_http_methods(["GET"])
@staff_required
def mapping_list(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    destination = _get_destination(request, pk)
    return render_page(request, TEMPLATE, _context(destination), partial="table")


@require_http_methods(["GET", "POST"])
@staff_required
def mapping_new(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Pick an action; POST creates the mapping (disabled) and opens the editor."""
    destination = _get_destination(request, pk)
    form = NewMappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = get_action(form.cleaned_data["action"])
        last = destination.mappings.order_by("-position").values_list("position", flat=True)
        mapping = save_mapping(
            Mapping(
                destination=destination,
                name=unique_mapping_name(destination, action.title),
                # Alias has no default subscription (spec §2): start from the suggested one.
                trigger=action.default_subscription or action.suggested_subscription or "",
                action=action.id,
                mapping=action.default_mapping(),
                enabled=False,
                position=(last.first() or 0) + 1,
            ),
            saved_by=request.user.get_username(),
        )
        return redirect(mapping_edit_url(mapping))
    context = {
        "section": "destinations",
        "destination": destination,
        "form": form,
        "actions": ACTIONS,
    }
    return render(request, "mappings/new.html", context, status=422 if form.is_bound else 200)


@require_POST
@staff_required
def mapping_enabled(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = _get_mapping(request, pk, mapping_pk)
    form = ToggleForm(request.POST)
    if not form.is_valid():
        return HttpResponse("enabled must be 1 or 0", status=400, content_type="text/plain")
    mapping.enabled = form.cleaned_data["enabled"]
    try:
        save_mapping(mapping, saved_by=request.user.get_username())
    except ConfigError as exc:
        return _cannot_save(request, mapping, exc)
    return _row_or_redirect(request, mapping)


@require_POST
@staff_required
def mapping_rename(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    mapping = _get_mapping(request, pk, mapping_pk)
    form = MappingRenameForm(request.POST, mapping=mapping)
    if not form.is_valid():
        context = _context(mapping.destination, rename_forms={mapping.pk: form})
        if request.htmx:
            row = next(r for r in context["rows"] if r.mapping.pk == mapping.pk)
            return render(request, f"{TEMPLATE}#row", {**context, "row": row}, status=422)
        return render(request, TEMPLATE, context, status=422)
    mapping.name = form.cleaned_data["name"]
    try:
        save_mapping(mapping, saved_by=request.user.get_username())
    except ConfigError as exc:
        return _cannot_save(request, mapping, exc)
    return _row_or_redirect(request, mapping, message="Mapping renamed.")


@require_POST
@staff_required
def mapping_duplicate(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """A disabled copy right below the original (turn it on once it is edited)."""
    original = _get_mapping(request, pk, mapping_pk)
    destination = original.destination
    with transaction.atomic():
        below = destination.mappings.filter(position__gt=original.position)
        for other in below.order_by("-position"):
            other.position += 1
            other.save(update_fields=["position", "updated_at"])
        copy = save_mapping(
            Mapping(
                destination=destination,
                name=unique_mapping_name(destination, f"{original.name} (copy)"),
                trigger=original.trigger,
                action=original.action,
                mapping=original.mapping,
                enabled=False,
                position=original.position + 1,
            ),
            saved_by=request.user.get_username(),
        )
    return _table_or_redirect(request, destination, f"Duplicated as “{copy.name}” (disabled).")


@require_POST
@staff_required
def mapping_move(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """Swap with the neighbour above or below. Order is display order (and evaluation order
    in the debugger's trace); reordering never makes a new version."""
    mapping = _get_mapping(request, pk, mapping_pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponse("direction must be up or down", status=400, content_type="text/plain")
    destination = mapping.destination
    with transaction.atomic():
        ordered = list(destination.mappings.select_for_update().order_by("position", "id"))
        index = next(i for i, m in enumerate(ordered) if m.pk == mapping.pk)
        other = index - 1 if form.cleaned_data["direction"] == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        # Renumber everything: positions may be equal or gapped after imports and deletes.
        for position, item in enumerate(ordered):
            if item.position != position:
                item.position = position
                item.save(update_fields=["position", "updated_at"])
    return _table_or_redirect(request, destination, None)


@require_http_methods(["GET", "POST"])
@staff_required
def mapping_delete(request: HtmxHttpRequest, pk: int, mapping_pk: int) -> HttpResponse:
    """GET: the confirmation step. POST: delete the mapping and its versions."""
    mapping = _get_mapping(request, pk, mapping_pk)
    destination = mapping.destination
    if request.method == "POST":
        name = mapping.name
        mapping.delete()
        messages.success(request, f"Mapping “{name}” deleted.")
        return redirect("mapping_list", destination.pk)
    context = {"section": "destinations", "destination": destination, "mapping": mapping}
    return render(request, "mappings/delete.html", context)


# Helpers -----------------------------------------------------------------------------------------


def _cannot_save(request: HtmxHttpRequest, mapping: Mapping, exc: ConfigError) -> HttpResponse:
    """A stored mapping that no longer validates (e.g. written by an older version): say so and
    send the user to the editor instead of failing with a 500."""
    text = "This mapping cannot be saved until it is fixed in the editor: " + "; ".join(
        exc.messages
    )
    if request.htmx:
        mapping.refresh_from_db()
        context = _context(mapping.destination)
        row = next(r for r in context["rows"] if r.mapping.pk == mapping.pk)
        return render(request, f"{TEMPLATE}#row", {**context, "row": row, "row_announce": text})
    messages.error(request, text)
    return redirect("mapping_list", mapping.destination_id)


def _row_or_redirect(
    request: HtmxHttpRequest, mapping: Mapping, message: str | None = None
) -> HttpResponse:
    if not request.htmx:
        if message:
            messages.success(request, message)
        return redirect(
            f"{reverse('mapping_list', args=[mapping.destination_id])}#mapping-{mapping.pk}"
        )
    context = _context(mapping.destination)
    row = next(r for r in context["rows"] if r.mapping.pk == mapping.pk)
    return render(request, f"{TEMPLATE}#row", {**context, "row": row, "row_announce": message})


def _table_or_redirect(
    request: HtmxHttpRequest, destination: Destination, message: str | None
) -> HttpResponse:
    if not request.htmx:
        if message:
            messages.success(request, message)
        return redirect("mapping_list", destination.pk)
    context = {**_context(destination), "announce": message}
    return render(request, f"{TEMPLATE}#table", context)


def _context(
    destination: Destination, *, rename_forms: dict[int, MappingRenameForm] | None = None
) -> dict:
    mappings = list(destination.mappings.order_by("position", "id"))
    counts = mapping_counts(destination, timezone.now() - timedelta(hours=24))
    simplified = (destination.settings.get("idMergeMode") or "simplified") == "simplified"
    rename_forms = rename_forms or {}
    rows = []
    for index, mapping in enumerate(mappings):
        try:
            node = fql.parse(mapping.trigger)
            words, canonical, error = describe_trigger(node), fql.to_fql(node), ""
        except fql.FqlError as exc:
            words, canonical, error = "", mapping.trigger, str(exc)
        try:
            title = get_action(mapping.action).title
        except KeyError:
            title = mapping.action
        rows.append(
            Row(
                mapping=mapping,
                words=words,
                fql=canonical,
                trigger_error=error,
                action_title=title,
                counts=counts.get(mapping.pk, Counts()),
                alias_warning=mapping.enabled and mapping.action == "alias" and simplified,
                edit_url=mapping_edit_url(mapping),
                is_first=index == 0,
                is_last=index == len(mappings) - 1,
                rename_form=rename_forms.get(mapping.pk) or MappingRenameForm(mapping=mapping),
            )
        )
    return {
        "section": "destinations",
        "destination": destination,
        "rows": rows,
        "alias_warning": ALIAS_WARNING,
        "tester_url": destination_tester_url(destination),
        "deliveries_url": destination_deliveries_url(destination),
    }
