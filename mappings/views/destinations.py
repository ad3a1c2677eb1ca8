"""Destinations: list, "Add Mixpanel", settings, credential check, enable toggle and resume.

Secrets never reach a template: the form's secret inputs are always empty, the credential check
result is redacted by ``credential_check.interpret_credential_check``, and headers are shown
masked.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import http
from ..delivery.claim import is_paused
from ..delivery.flush import resume
from ..destinations.mixpanel import credential_check
from ..destinations.mixpanel.settings_schema import validate_settings
from ..destinations.mixpanel.types import MixpanelSettings, SettingsError
from ..forms import DestinationForm, ToggleForm
from ..models import Destination
from .common import (
    HtmxHttpRequest,
    _get_destination,
    destination_deliveries_url,
    destination_tester_url,
    staff_required,
)

TEMPLATE_SETTINGS = "destinations/settings.html"


@require_http_methods(["GET"])
@staff_required
def destination_list(request: HtmxHttpRequest) -> HttpResponse:
    destinations = Destination.objects.prefetch_related("sources").annotate(
        mapping_count=Count("mappings")
    )
    rows = [(d, is_paused(d)) for d in destinations]
    return render(request, "destinations/list.html", {"section": "destinations", "rows": rows})


@require_http_methods(["GET", "POST"])
@staff_required
def destination_new(request: HtmxHttpRequest) -> HttpResponse:
    """The seed's flow: sources, name, credentials, residency, modes, enable — then presets."""
    form = DestinationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        destination = form.save()
        messages.success(
            request,
            f"Destination “{destination.name}” created with the six preset mappings.",
        )
        return redirect("mapping_list", destination.pk)
    status = 422 if form.is_bound else 200
    return render(request, TEMPLATE_SETTINGS, _settings_context(form, None), status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def destination_settings(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    destination = _get_destination(request, pk)
    form = DestinationForm(request.POST or None, destination=destination)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("destination_settings", destination.pk)
    status = 422 if form.is_bound else 200
    return render(request, TEMPLATE_SETTINGS, _settings_context(form, destination), status=status)


@require_POST
@staff_required
def destination_check(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    """Check the credentials in the form (blank secrets: the stored ones) without saving.

    Runs the same request builder and HTTP seam as delivery (spec §3.4); token-only settings are
    not sent anywhere, and the page says why.
    """
    destination = _get_destination(request, pk) if pk is not None else None
    form = DestinationForm(request.POST, destination=destination)
    form.is_valid()
    check = None if form.settings_errors() else run_credential_check(form.raw_settings)
    context = {**_settings_context(form, destination), "check": check, "checked": True}
    if request.htmx:
        return render(request, f"{TEMPLATE_SETTINGS}#check_result", context)
    return render(request, TEMPLATE_SETTINGS, context, status=200 if check else 422)


@require_POST
@staff_required
def destination_enabled(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The enable toggle at the bottom of the settings page (``enabled=1``/``0``)."""
    destination = _get_destination(request, pk)
    form = ToggleForm(request.POST)
    if not form.is_valid():
        return HttpResponse("enabled must be 1 or 0", status=400, content_type="text/plain")
    destination.enabled = form.cleaned_data["enabled"]
    # update(), not save(): saving moves updated_at, which would silently resume a destination
    # paused by an auth failure (delivery.claim) — turning it on is not fixing its credentials.
    Destination.objects.filter(pk=destination.pk).update(enabled=destination.enabled)
    if not request.htmx:
        messages.success(
            request, f"Destination {'enabled' if destination.enabled else 'disabled'}."
        )
        return redirect("destination_settings", destination.pk)
    context = {"destination": destination, "paused": is_paused(destination)}
    return render(request, f"{TEMPLATE_SETTINGS}#enable_toggle", context)


@require_POST
@staff_required
def destination_resume(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Un-pause after an auth failure and deliver what waited (``delivery.flush.resume``)."""
    destination = _get_destination(request, pk)
    resume(destination)
    messages.success(request, "Delivery resumed. Events that waited are being sent.")
    return redirect("destination_settings", destination.pk)


# Helpers -----------------------------------------------------------------------------------------


def run_credential_check(raw_settings: dict[str, Any]) -> dict[str, Any]:
    """Build, send and interpret the credential check for ``raw_settings`` (already valid).

    Returns what the template shows: the redacted result and the request line with masked
    headers. Only ``http.try_send`` talks to the network.
    """
    mp_settings = validate_settings(raw_settings)
    override = settings.SEGMIX_MIXPANEL_API_URL or None
    request = credential_check.build_credential_check(mp_settings, override, http.USER_AGENT)
    if request is None:
        result = credential_check.interpret_credential_check(None, mp_settings, None, b"")
        return {"result": result, "request": None, "elapsed_ms": None}
    answer = http.try_send(request, timeout=settings.SEGMIX_MIXPANEL_TIMEOUT)
    result = credential_check.interpret_credential_check(
        request, mp_settings, answer.status, answer.body, error=answer.error
    )
    return {
        "result": result,
        "request": request,
        "headers": request.masked_headers(),
        "status": answer.status,
        "elapsed_ms": answer.elapsed_ms,
    }


def _stored_settings(destination: Destination) -> tuple[MixpanelSettings | None, list[str]]:
    try:
        return validate_settings(destination.all_settings()), []
    except SettingsError as exc:
        return None, exc.messages


def _settings_context(form: DestinationForm, destination: Destination | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "section": "destinations",
        "form": form,
        "destination": destination,
        "creating": destination is None,
        "api_override": settings.SEGMIX_MIXPANEL_API_URL,
    }
    if destination is not None:
        stored, problems = _stored_settings(destination)
        context.update(
            paused=is_paused(destination),
            stored_problems=problems,
            # Spec §3.1 / P32: the API secret authenticates /import and is being retired.
            secret_deprecated=stored is not None and stored.import_auth_mode == "api_secret",
            deliveries_url=destination_deliveries_url(destination),
            tester_url=destination_tester_url(destination),
        )
    return context
