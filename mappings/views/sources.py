"""Sources: list and create, the detail page (write key, "Connect your app"), rename,
enable/disable and regenerate the write key (after a confirmation step)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from ..forms import SourceForm, ToggleForm
from ..models import Source, new_write_key
from . import snippets
from .common import (
    HtmxHttpRequest,
    _get_source,
    render_page,
    source_debugger_url,
    staff_required,
)

TEMPLATE_LIST = "sources/list.html"
TEMPLATE_DETAIL = "sources/detail.html"


@require_http_methods(["GET", "POST"])
@staff_required
def source_list(request: HtmxHttpRequest) -> HttpResponse:
    """Every source, and the form that creates one (POST here creates)."""
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = form.save()
        messages.success(request, f"Source “{source.name}” created. Connect your app below.")
        if request.htmx:  # a whole new page: navigate, don't swap it into the form
            return HttpResponseClientRedirect(reverse("source_detail", args=[source.pk]))
        return redirect("source_detail", source.pk)
    status = 422 if form.is_bound else 200
    sources = Source.objects.annotate(destination_count=Count("destinations"))
    context = {"section": "sources", "sources": sources, "form": form}
    partial = "create_form" if form.is_bound else None
    return render_page(request, TEMPLATE_LIST, context, partial=partial, status=status)


@require_http_methods(["GET"])
@staff_required
def source_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    source = _get_source(request, pk)
    return render(request, TEMPLATE_DETAIL, _detail_context(request, source))


@require_POST
@staff_required
def source_rename(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    source = _get_source(request, pk)
    form = SourceForm(request.POST, instance=source, auto_id="id_rename_%s")
    if form.is_valid():
        form.save()
        if not request.htmx:
            messages.success(request, "Source renamed.")
            return redirect("source_detail", source.pk)
        status = 200
    else:
        source.refresh_from_db()  # the header keeps showing the stored name
        status = 422
    context = _detail_context(request, source, rename_form=form)
    context["renamed"] = form.is_valid()
    return render_page(request, TEMPLATE_DETAIL, context, partial="identity", status=status)


@require_POST
@staff_required
def source_enabled(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Turn ingest for this write key on or off (``enabled=1``/``0``)."""
    source = _get_source(request, pk)
    form = ToggleForm(request.POST)
    if not form.is_valid():
        return HttpResponse("enabled must be 1 or 0", status=400, content_type="text/plain")
    source.enabled = form.cleaned_data["enabled"]
    source.save(update_fields=["enabled", "updated_at"])
    if not request.htmx:
        messages.success(request, f"Source {'enabled' if source.enabled else 'disabled'}.")
        return redirect("source_detail", source.pk)
    return render(request, f"{TEMPLATE_DETAIL}#status", _detail_context(request, source))


@require_http_methods(["GET", "POST"])
@staff_required
def source_regenerate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation step. POST: a new write key; the old one stops working at once."""
    source = _get_source(request, pk)
    if request.method == "POST":
        source.write_key = new_write_key()
        source.save(update_fields=["write_key", "updated_at"])
        messages.success(
            request, "New write key generated. Update every app that used the old one."
        )
        return redirect("source_detail", source.pk)
    context = {"section": "sources", "source": source}
    return render(request, "sources/regenerate.html", context)


def _detail_context(
    request: HtmxHttpRequest, source: Source, *, rename_form: SourceForm | None = None
) -> dict:
    endpoint = snippets.Endpoint(scheme=request.scheme, host=request.get_host())
    destinations = list(source.destinations.all())
    # The autocapture snippet is more useful filled in: take the first connected destination's
    # token (public by design) and ID-merge mode when there is one.
    first = destinations[0] if destinations else None
    token = first.settings.get("projectToken") if first else None
    merge_mode = (first.settings.get("idMergeMode") if first else None) or "simplified"
    key = source.write_key
    return {
        "section": "sources",
        "source": source,
        "destinations": destinations,
        "rename_form": rename_form or SourceForm(instance=source, auto_id="id_rename_%s"),
        "debugger_url": source_debugger_url(source),
        "endpoint": endpoint,
        "snippet_js": snippets.analytics_js(key, endpoint),
        "snippet_js_load": snippets.analytics_js_snippet_load(key, endpoint),
        "snippet_python": snippets.analytics_python(key, endpoint.base_url),
        "snippet_node": snippets.analytics_node(key, endpoint.base_url),
        "snippet_autocapture": snippets.autocapture(token, merge_mode),
        "autocapture_destination": first,
        "autocapture_mode": merge_mode,
        "autocapture_warning": snippets.AUTOCAPTURE_WARNING,
        "autocapture_important": snippets.AUTOCAPTURE_IMPORTANT,
    }
