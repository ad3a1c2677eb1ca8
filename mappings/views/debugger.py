"""The Source Debugger (spec §7.1): a live stream of a source's messages and their detail.

One page per source. htmx polls it every 2 s for rows above the newest ids shown (``poll=1``);
in "paused" mode the poll only counts them ("N new events"). Filters are a plain GET form, and
"older" pages are plain links (``?before=<cursor>``) that show history without polling. Below
the stream, the source's refused requests (400/413/429) are listed. Every payload value reaches the page as autoescaped text prepared by :mod:`.display`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..forms.debugger import Cursor, DebuggerFilterForm, positive_int
from ..models import Event, RejectedMessage, Source
from . import stream
from .common import HtmxHttpRequest, _get_source, render_page, staff_required
from .event_detail import event_detail, reject_detail

TEMPLATE = "sources/debugger.html"
POLL_SECONDS = 2


@require_GET
@staff_required
def source_debugger(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The page; with ``poll=1`` (htmx) the rows that arrived since, or their count."""
    source = _get_source(request, pk)
    form = DebuggerFilterForm(request.GET)
    filters = form.filters()
    if request.htmx and request.GET.get("poll"):
        return _poll(request, source, filters)
    return render(request, TEMPLATE, _page_context(request, source, form, filters))


@require_GET
@staff_required
def debugger_event(request: HtmxHttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """One accepted event: Pretty, Raw, As received and Delivery tabs."""
    source = _get_source(request, pk)
    event = get_object_or_404(Event.objects.select_related("request"), pk=event_pk, source=source)
    return _detail_response(request, source, {"detail": event_detail(event)})


@require_GET
@staff_required
def debugger_reject(request: HtmxHttpRequest, pk: int, reject_pk: int) -> HttpResponse:
    """One quarantined message: why it was rejected, and its JSON as received."""
    source = _get_source(request, pk)
    reject = get_object_or_404(
        RejectedMessage.objects.select_related("request"), pk=reject_pk, source=source
    )
    return _detail_response(request, source, {"reject": reject_detail(reject)})


def _detail_response(
    request: HtmxHttpRequest, source: Source, detail: dict[str, Any]
) -> HttpResponse:
    if request.htmx:
        return render(request, f"{TEMPLATE}#detail", {"source": source, **detail})
    form = DebuggerFilterForm(request.GET)
    context = _page_context(request, source, form, form.filters())
    return render_page(request, TEMPLATE, {**context, **detail})


# --- the stream -------------------------------------------------------------------------------


def _urls(source: Source, filters: dict[str, str]) -> dict[str, str]:
    base = reverse("source_debugger", args=[source.pk])
    query = urlencode(filters)
    return {"base": base, "page": f"{base}?{query}" if query else base, "query": query}


def _stream_url(urls: dict[str, str], **params: Any) -> str:
    extra = urlencode(params)
    return f"{urls['base']}?{urls['query']}&{extra}" if urls["query"] else f"{urls['base']}?{extra}"


def _controls(
    source: Source,
    filters: dict[str, str],
    *,
    live: bool,
    after_event: int,
    after_reject: int,
    new_count: int = 0,
    announce: str = "",
    skipped: bool = False,
) -> dict[str, Any]:
    """Context of the Live/Pause controls, which also carry the poll (and its cursors)."""
    urls = _urls(source, filters)
    cursors = {"after_ev": after_event, "after_rj": after_reject}
    poll = (
        {**cursors, "mode": "live"} if live else {**cursors, "mode": "paused", "count": new_count}
    )
    toggle = {**cursors, "mode": "paused" if live else "live", "toggled": 1}
    return {
        "live": live,
        "poll_seconds": POLL_SECONDS,
        "poll_url": _stream_url(urls, **poll, poll=1),
        "toggle_url": _stream_url(urls, **toggle, poll=1),
        # Without htmx the toggle and the reload link load the page itself.
        "toggle_href": _stream_url(urls, mode="paused") if live else urls["page"],
        "reload_url": urls["page"],
        "new_count": new_count,
        "new_count_capped": new_count >= stream.COUNT_CAP,
        "announce": announce,
        "skipped": skipped,
    }


def _poll(request: HtmxHttpRequest, source: Source, filters: dict[str, str]) -> HttpResponse:
    after_event = positive_int(request.GET.get("after_ev"))
    after_reject = positive_int(request.GET.get("after_rj"))
    live = request.GET.get("mode") != "paused"
    rows: list[stream.StreamRow] = []
    new_count = 0
    if live:
        rows = stream.page(
            source,
            filters,
            after_event=after_event,
            after_reject=after_reject,
            limit=stream.LIVE_MAX,
        )
        after_event = max([r.pk for r in rows if r.kind == "event"], default=after_event)
        after_reject = max([r.pk for r in rows if r.kind == "reject"], default=after_reject)
        announce = _plural(len(rows), "new message") if rows else ""
    else:
        new_count = stream.count_newer(source, filters, after_event, after_reject)
        # Announce only a change, not the same count every 2 s.
        changed = new_count != positive_int(request.GET.get("count"))
        announce = f"Paused: {_plural(new_count, 'new message')} waiting" if changed else ""
    if request.GET.get("toggled"):
        announce = "Live: new messages appear as they arrive." if live else "Paused."
    context = _controls(
        source,
        filters,
        live=live,
        after_event=after_event,
        after_reject=after_reject,
        new_count=new_count,
        announce=announce,
        skipped=len(rows) >= stream.LIVE_MAX,
    )
    return render(request, f"{TEMPLATE}#poll", {"source": source, "rows": rows, **context})


def _page_context(
    request: HtmxHttpRequest, source: Source, form: DebuggerFilterForm, filters: dict[str, str]
) -> dict[str, Any]:
    before = Cursor.parse(request.GET.get("before"))
    # Take the high-water ids first and cap the page with them: a message committed in between
    # is then left to the first poll instead of appearing twice.
    newest = stream.high_water(source)
    rows = stream.page(source, filters, before=before, upto=newest)
    urls = _urls(source, filters)
    older_base = f"{urls['page']}&" if urls["query"] else f"{urls['base']}?"
    older_url = f"{older_base}before={rows[-1].cursor}" if len(rows) >= stream.PAGE else ""
    context: dict[str, Any] = {
        "section": "debugger",
        "source": source,
        "form": form,
        "filters": filters,
        "rows": rows,
        "history": before is not None,
        "live_url": urls["page"],
        "older_url": older_url,
        "older_base": older_base,
        "live_max": stream.LIVE_MAX,
        "failed_requests": stream.failed_requests(source),
    }
    if before is None:
        context.update(
            _controls(
                source,
                filters,
                live=request.GET.get("mode") != "paused",
                after_event=newest[0],
                after_reject=newest[1],
            )
        )
    return context


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
