"""The Event Tester: one test event against every enabled mapping of a destination.

The dry run (the default, and what GET shows) is the Event Content panel for each mapping —
which matched and the exact requests — with no side effects. "Send" is a separate, explicit POST
that sends the event through each matching mapping with
:func:`mappings.delivery.send_test_event` (the live path, retries off, recorded tagged ``test``)
and shows each response and its classification.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ..delivery import send_test_event
from ..forms.editor import PayloadForm
from ..forms.editor_fields import pretty_json
from ..models import Destination
from ..plans import plan_for
from . import editor_support as support
from .common import (
    HtmxHttpRequest,
    _get_destination,
    destination_tester_url,
    render_page,
    staff_required,
)
from .event_content import (
    Panel,
    Timing,
    api_override,
    evaluate_panels,
    for_display,
    timing_for,
)
from .event_samples import SAMPLE_TYPES, sample

TEMPLATE = "mappings/tester.html"


def _dry_run(destination: Destination, form: PayloadForm) -> tuple[list[Panel], Timing | None]:
    if form.event is None:
        return [], None
    stored = support.stored_event(destination, form.cleaned_data.get("event_id"))
    timing = timing_for(form.event, stored, timezone.now())
    return evaluate_panels(
        form.event, plan_for(destination), timing, include_disabled=False
    ), timing


def _render(
    request: HtmxHttpRequest,
    destination: Destination,
    form: PayloadForm,
    *,
    sends: dict[int, Any] | None = None,
    **extra: Any,
) -> HttpResponse:
    panels, timing = _dry_run(destination, form)
    sends = sends or {}
    context = {
        "section": "destinations",
        "destination": destination,
        "payload_form": form,
        "results": [{"panel": p, "send": for_display(sends.get(p.mapping_id))} for p in panels],
        "timing": timing,
        "sample_types": SAMPLE_TYPES,
        "api_override": api_override(),
        "enabled_count": destination.mappings.filter(enabled=True).count(),
        "tester_url": destination_tester_url(destination),
        **extra,
    }
    return render_page(request, TEMPLATE, context, partial="tester")


@require_http_methods(["GET", "POST"])
@staff_required
def destination_tester(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: a sample event (or ``?event=<id>``), dry-run. POST: dry-run the posted event, or
    load another one first (``load=recent|older|sample``)."""
    destination = _get_destination(request, pk)
    if request.method == "GET":
        event_id = request.GET.get("event", "")
        usable = event_id.isdigit() and len(event_id) <= 18  # a database integer
        stored = support.stored_event(destination, int(event_id)) if usable else None
        data = {"payload": pretty_json(stored.message if stored else sample("track"))}
        if stored:
            data["event_id"] = str(stored.pk)
        form = PayloadForm(data)
        form.is_valid()
        return _render(request, destination, form)
    form = PayloadForm(request.POST)
    form.is_valid()
    loaded = support.load_test_event(
        destination,
        request.POST.get("load", ""),
        current=support.stored_event(destination, form.cleaned_data.get("event_id")),
        sample_type=form.cleaned_data.get("sample_type") or "track",
    )
    if loaded.event is not None:
        data = request.POST.copy()
        data["payload"] = pretty_json(loaded.event)
        data["event_id"] = str(loaded.event_id or "")
        form = PayloadForm(data)
        form.is_valid()
    return _render(request, destination, form, payload_note=loaded.note)


@require_POST
@staff_required
def destination_tester_send(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send the event for real through every enabled mapping it matches, one test send each."""
    destination = _get_destination(request, pk)
    form = PayloadForm(request.POST)
    sends: dict[int, Any] = {}
    if form.is_valid() and form.event is not None:
        stored = support.stored_event(destination, form.cleaned_data.get("event_id"))
        if stored is not None and stored.message != form.event:
            stored = None
        panels, _ = _dry_run(destination, form)
        mappings = {m.pk: m for m in destination.mappings.filter(enabled=True)}
        for panel in panels:
            mapping = mappings.get(panel.mapping_id)
            if mapping is not None and panel.requests:
                sends[mapping.pk] = send_test_event(
                    destination, mapping, form.event, stored_event=stored
                )
    return _render(request, destination, form, sends=sends, sent=True)
