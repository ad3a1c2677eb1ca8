"""The front door: health check, home, and the "pick one" index pages of the navigation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..models import Destination, Source
from .common import (
    HtmxHttpRequest,
    destination_deliveries_url,
    source_debugger_url,
    staff_required,
)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the web process is up. Deliberately touches neither the database nor Redis."""
    return JsonResponse({"status": "ok"})


@require_GET
@staff_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    """Where sign-in lands: what exists, and the first step when nothing does."""
    context = {
        "sources": Source.objects.all(),
        "destinations": Destination.objects.prefetch_related("sources"),
    }
    return render(request, "home.html", context)


@require_GET
@staff_required
def debugger_index(request: HtmxHttpRequest) -> HttpResponse:
    """The debugger is per source: pick one."""
    items = [(source, source_debugger_url(source)) for source in Source.objects.all()]
    return render(request, "site/pick.html", _pick_context("debugger", items))


@require_GET
@staff_required
def deliveries_index(request: HtmxHttpRequest) -> HttpResponse:
    """Delivery history is per destination: pick one."""
    items = [(d, destination_deliveries_url(d)) for d in Destination.objects.all()]
    return render(request, "site/pick.html", _pick_context("deliveries", items))


def _pick_context(section: str, items: list) -> dict:
    if section == "debugger":
        title, what, empty = "Debugger", "source", "No sources yet."
        lead = "Watch the messages a source receives, live. Pick a source:"
    else:
        title, what, empty = "Deliveries", "destination", "No destinations yet."
        lead = "See what was sent to Mixpanel, what failed and why. Pick a destination:"
    return {
        "section": section,
        "title": title,
        "lead": lead,
        "what": what,
        "empty": empty,
        "items": items,
    }
