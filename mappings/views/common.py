"""What every console view shares: the staff gate, the access helpers and htmx rendering.

The console is for staff only. Anonymous visitors are sent to the sign-in page (htmx requests get
an ``HX-Redirect`` so the login page is not swapped into a fragment); signed-in users who are not
staff get a plain 403 page that says why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from ..models import Destination, Mapping, Source


class HtmxHttpRequest(HttpRequest):
    """An ``HttpRequest`` as ``HtmxMiddleware`` leaves it (for type checkers)."""

    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Login required, then ``is_staff`` (and active) required, else a 403 page.

    Console pages also get ``Cache-Control: no-store``-style headers: they show configuration
    that a shared browser cache has no business keeping.
    """

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                # The page the user is on, not the fragment URL, is where to come back to.
                back = request.htmx.current_url_abs_path or request.get_full_path()
                login = resolve_url(settings.LOGIN_URL)
                return HttpResponseClientRedirect(f"{login}?{urlencode({'next': back})}")
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            return render(request, "403.html", {"not_staff": True}, status=403)
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``, or only its ``partial`` for htmx requests (house style)."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    return render(request, name, context, status=status)


# Access helpers: one place that decides which objects a request may reach. Every staff user may
# reach every object today; keeping the lookups here leaves one place to change if that changes.


def _get_source(request: HttpRequest, pk: int) -> Source:
    return get_object_or_404(Source, pk=pk)


def _get_destination(request: HttpRequest, pk: int) -> Destination:
    return get_object_or_404(Destination, pk=pk)


def _get_mapping(request: HttpRequest, destination_pk: int, pk: int) -> Mapping:
    return get_object_or_404(
        Mapping.objects.select_related("destination"), pk=pk, destination_id=destination_pk
    )


# Links to screens other parts of the console own. Their views may not exist yet: the URL name
# is tried first and the agreed path is the fallback, so these links never 500.


def _future_url(name: str, args: list[Any], fallback: str) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def mapping_edit_url(mapping: Mapping) -> str:
    """The mapping editor (issue 5, part 2)."""
    return _future_url(
        "mapping_edit",
        [mapping.destination_id, mapping.pk],
        f"/destinations/{mapping.destination_id}/mappings/{mapping.pk}/edit",
    )


def source_debugger_url(source: Source) -> str:
    """The per-source live debugger (issue 5, part 3)."""
    return _future_url("source_debugger", [source.pk], f"/sources/{source.pk}/debugger")


def destination_deliveries_url(destination: Destination) -> str:
    """The per-destination delivery history (issue 5, part 3)."""
    return _future_url(
        "destination_deliveries", [destination.pk], f"/destinations/{destination.pk}/deliveries"
    )


def destination_tester_url(destination: Destination) -> str:
    """The per-destination event tester (issue 5, part 2)."""
    return _future_url(
        "destination_tester", [destination.pk], f"/destinations/{destination.pk}/tester"
    )
