"""The Source Debugger (spec §7.1): stream, polling, pause, filters, paging, detail, safety."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from mappings.models import Source
from tests.views.conftest import API_SECRET, body
from tests.views.history_support import add_event, add_reject, settle

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)
TAG = re.compile(r"<[a-zA-Z][^>]*>")


def tags(html: str) -> str:
    """Only the markup: escaped payload text never contains a raw ``<``."""
    return "\n".join(TAG.findall(html))


HOSTILE = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "url": "javascript:alert(1)",
}


def url(source: Source, suffix: str = "") -> str:
    return f"/sources/{source.pk}/debugger{suffix}"


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture
def stream(source, destination):
    """One message of each kind, oldest first: a page, an identify (a duplicate, delivered), a
    group, an alias, a reject and a track with warnings."""
    page = add_event(source, {"type": "page", "anonymousId": "anon-1"}, received_at=ago(60))
    identify = add_event(
        source,
        {"type": "identify", "userId": "user-1", "traits": {"plan": "pro", "seats": 3}},
        received_at=ago(50),
        duplicates=2,
    )
    settle(identify.deliveries.get(), "delivered")
    group = add_event(
        source, {"type": "group", "userId": "user-1", "groupId": "acme"}, received_at=ago(40)
    )
    alias = add_event(
        source, {"type": "alias", "previousId": "anon-1", "userId": "user-1"}, received_at=ago(30)
    )
    reject = add_reject(source, {"type": "track", "event": "No Ids"}, received_at=ago(20))
    track = add_event(
        source,
        {"type": "track", "event": "Signed Up", "userId": "user-2", "anonymousId": "anon-2",
         "properties": {"plan": "team"}},
        received_at=ago(10),
        warnings=["invalid_timestamp"],
    )  # fmt: skip
    return {"page": page, "identify": identify, "group": group, "alias": alias, "reject": reject,
            "track": track}  # fmt: skip


def row_ids(html: str) -> list[str]:
    return re.findall(r'<li id="((?:ev|rj)-\d+)"', html)


# --- access -------------------------------------------------------------------------------------


def every_url(source, stream) -> list[str]:
    return [
        url(source),
        url(source, "?poll=1&after_ev=0&after_rj=0&mode=live"),
        url(source, f"/events/{stream['track'].pk}"),
        url(source, f"/rejects/{stream['reject'].pk}"),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, source, stream):
    for address in every_url(source, stream):
        response = client.get(address)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_an_anonymous_poll_redirects_the_page_not_the_fragment(client, source, stream):
    response = client.get(
        url(source, "?poll=1&mode=live"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{url(source)}",
    )
    assert response["HX-Redirect"] == f"/login/?next=%2Fsources%2F{source.pk}%2Fdebugger"


def test_signed_in_users_who_are_not_staff_get_403(user_client, source, stream):
    for address in every_url(source, stream):
        assert user_client.get(address).status_code == 403


def test_the_debugger_is_read_only(staff_client, source, stream):
    assert staff_client.post(url(source)).status_code == 405
    assert staff_client.post(url(source, f"/events/{stream['track'].pk}")).status_code == 405


def test_messages_of_another_source_are_not_found(staff_client, source, stream):
    other = Source.objects.create(name="Other")
    assert staff_client.get(url(other, f"/events/{stream['track'].pk}")).status_code == 404
    assert staff_client.get(url(other, f"/rejects/{stream['reject'].pk}")).status_code == 404
    assert staff_client.get("/sources/999/debugger").status_code == 404


# --- the stream ---------------------------------------------------------------------------------


def test_the_stream_is_newest_first_with_a_summary_per_type(staff_client, source, stream):
    html = body(staff_client.get(url(source)))
    s = stream
    assert row_ids(html) == [
        f"ev-{s['track'].pk}", f"rj-{s['reject'].pk}", f"ev-{s['alias'].pk}",
        f"ev-{s['group'].pk}", f"ev-{s['identify'].pk}", f"ev-{s['page'].pk}",
    ]  # fmt: skip
    for summary in (
        "Signed Up",
        "No Ids",
        "anon-1 → user-1",
        "acme",
        "user-1 · 2 traits",
        "(unnamed)",
    ):
        assert f">{summary}</a>" in html.replace("&gt;", ">"), summary
    assert "analytics-python 2.3.0" in html
    assert 'aria-labelledby="stream-heading"' in html and 'role="status"' in html


def test_each_row_has_its_status_chip_warnings_and_destination_chips(staff_client, source, stream):
    html = body(staff_client.get(url(source)))
    assert "Rejected · no_user_anon_id" in html
    assert "Duplicate ×2" in html
    assert "1 warning" in html and "invalid_timestamp" in html
    assert "Mixpanel prod: delivered" in html and "Mixpanel prod: pending" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=group", ["group"]),
        ("event=Signed+Up", ["track"]),
        ("user_id=user-1", ["alias", "group", "identify"]),
        ("anonymous_id=anon-1", ["page"]),
        ("group_id=acme", ["group"]),
        ("status=rejected", ["reject"]),
        ("status=duplicate", ["identify"]),
        ("status=accepted&type=page", ["page"]),
    ],
)
def test_filters_are_exact(staff_client, source, stream, query, expected):
    html = body(staff_client.get(url(source, f"?{query}")))
    wanted = [f"{'rj' if k == 'reject' else 'ev'}-{stream[k].pk}" for k in expected]
    assert row_ids(html) == wanted


def test_the_message_id_filter_finds_events_and_rejects(staff_client, source, stream):
    track_id = stream["track"].message_id
    html = body(staff_client.get(url(source, f"?message_id={track_id}")))
    assert row_ids(html) == [f"ev-{stream['track'].pk}"]
    reject = add_reject(source, {"type": "track", "messageId": "bad-1"})
    html = body(staff_client.get(url(source, "?message_id=bad-1")))
    assert row_ids(html) == [f"rj-{reject.pk}"]
    html = body(staff_client.get(url(source, "?message_id=nothing-like-it")))
    assert row_ids(html) == [] and "No messages match these filters." in html


def test_the_poll_returns_only_newer_rows_and_moves_its_cursor(staff_client, htmx, source, stream):
    page = body(staff_client.get(url(source)))
    poll_url = re.search(r'id="live-poll" href="[^"]*" hx-get="([^"]+)"', page).group(1)
    poll_url = poll_url.replace("&amp;", "&")
    quiet = body(staff_client.get(poll_url, **htmx))
    assert "<html" not in quiet and row_ids(quiet) == []
    new = add_event(source, {"type": "track", "event": "Fresh", "userId": "u"})
    new_reject = add_reject(source, {"type": "identify"})
    fresh = body(staff_client.get(poll_url, **htmx))
    assert row_ids(fresh) == [f"rj-{new_reject.pk}", f"ev-{new.pk}"] or row_ids(fresh) == [
        f"ev-{new.pk}",
        f"rj-{new_reject.pk}",
    ]
    assert 'hx-swap-oob="afterbegin:#stream"' in fresh
    assert "2 new messages" in fresh  # announced in the live region
    next_poll = re.search(r'hx-get="([^"]+)" hx-trigger="every 2s"', fresh).group(1)
    assert f"after_ev={new.pk}" in next_poll and f"after_rj={new_reject.pk}" in next_poll


def test_a_paused_poll_counts_new_messages_without_showing_them(staff_client, htmx, source, stream):
    newest = stream["track"].pk
    rj = stream["reject"].pk
    add_event(source, {"type": "track", "event": "A", "userId": "u"})
    add_event(source, {"type": "track", "event": "B", "userId": "u"})
    paused = body(
        staff_client.get(
            url(source, f"?poll=1&after_ev={newest}&after_rj={rj}&mode=paused"), **htmx
        )
    )
    assert row_ids(paused) == []
    assert "2 new events" in paused and ">Resume<" in paused
    assert "Paused: 2 new messages waiting" in paused
    again = body(
        staff_client.get(
            url(source, f"?poll=1&after_ev={newest}&after_rj={rj}&mode=paused&count=2"), **htmx
        )
    )
    assert "waiting" not in again  # the same count is not announced every 2 s


def test_pause_and_resume_toggle_the_mode_and_resume_shows_what_was_missed(
    staff_client, htmx, source, stream
):
    newest, rj = stream["track"].pk, stream["reject"].pk
    page = body(staff_client.get(url(source)))
    assert ">Pause<" in page and f'href="/sources/{source.pk}/debugger?mode=paused"' in page
    missed = add_event(source, {"type": "track", "event": "Missed", "userId": "u"})
    resumed = body(
        staff_client.get(
            url(source, f"?poll=1&after_ev={newest}&after_rj={rj}&mode=live&toggled=1"), **htmx
        )
    )
    assert row_ids(resumed) == [f"ev-{missed.pk}"]
    assert "Live: new messages appear as they arrive." in resumed


def test_filters_apply_to_the_poll(staff_client, htmx, source, stream):
    add_event(source, {"type": "track", "event": "Other", "userId": "u"})
    wanted = add_event(source, {"type": "track", "event": "Signed Up", "userId": "u"})
    newest, rj = stream["track"].pk, stream["reject"].pk
    html = body(
        staff_client.get(
            url(source, f"?event=Signed+Up&poll=1&after_ev={newest}&after_rj={rj}"), **htmx
        )
    )
    assert row_ids(html) == [f"ev-{wanted.pk}"]


def test_older_pages_go_back_through_everything_without_polling(staff_client, source, destination):
    start = timezone.now() - timedelta(hours=1)
    events = [
        add_event(source, {"type": "track", "event": f"E{i}", "userId": "u"},
                  received_at=start + timedelta(seconds=i), deliveries=False)
        for i in range(55)
    ]  # fmt: skip
    html = body(staff_client.get(url(source)))
    assert len(row_ids(html)) == 50
    older = re.search(r'href="([^"]+)" id="older-link"', html).group(1).replace("&amp;", "&")
    history = body(staff_client.get(older))
    assert row_ids(history) == [f"ev-{e.pk}" for e in reversed(events[:5])]
    assert 'hx-trigger="every' not in history and "Back to the live view" in history


def test_paging_keeps_events_and_rejects_of_the_same_instant_in_order(staff_client, source):
    moment = timezone.now() - timedelta(minutes=5)
    rejects = [add_reject(source, {"type": "x"}, received_at=moment) for _ in range(30)]
    events = [
        add_event(source, {"type": "track", "event": "Same", "userId": "u"}, received_at=moment,
                  deliveries=False)
        for _ in range(30)
    ]  # fmt: skip
    first = body(staff_client.get(url(source)))
    older = re.search(r'href="([^"]+)" id="older-link"', first).group(1).replace("&amp;", "&")
    second = body(staff_client.get(older))
    expected = [f"ev-{e.pk}" for e in reversed(events)] + [f"rj-{r.pk}" for r in reversed(rejects)]
    assert row_ids(first) + row_ids(second) == expected


# --- detail -------------------------------------------------------------------------------------


def test_the_detail_has_pretty_raw_received_and_delivery_tabs(staff_client, htmx, source, stream):
    track = stream["track"]
    html = body(staff_client.get(url(source, f"/events/{track.pk}"), **htmx))
    assert "<html" not in html  # the fragment only
    for tab in ("Pretty", "Raw", "As received", "Delivery"):
        assert 'role="tab"' in html and f">{tab}</button>" in html
    assert re.search(
        r"<code>properties\.plan</code></th><td class=\"v-string\"><span class=\"value\">team", html
    )
    assert "the timestamp was not a valid ISO-8601 time" in html  # the warning in words
    assert f'\n  "messageId": "{track.message_id}"' in unescape(html)  # Raw, 2-space JSON
    assert 'data-copy="raw-json"' in html
    assert "Why was this (not) sent?" in html
    assert f"/destinations/{track.deliveries.get().destination_id}/deliveries/" in html


def test_the_as_received_tab_leaves_out_the_write_key(staff_client, source, stream):
    html = body(staff_client.get(url(source, f"/events/{stream['track'].pk}")))
    assert source.write_key not in html
    assert "writeKey" not in html


def test_the_detail_page_without_htmx_is_the_whole_debugger(staff_client, source, stream):
    html = body(staff_client.get(url(source, f"/events/{stream['track'].pk}")))
    assert "<html" in html and 'id="stream"' in html and 'id="detail-heading"' in html


def test_the_timestamps_block_shows_the_skew_and_the_correction(staff_client, htmx, source):
    event = add_event(
        source,
        {"type": "track", "event": "Skewed", "userId": "u",
         "timestamp": "2026-03-10T12:00:00.250Z", "originalTimestamp": "2026-03-10T11:58:00.000+00:00",
         "sentAt": "2026-03-10T11:58:05.000+00:00", "receivedAt": "2026-03-10T12:00:05.250Z"},
        deliveries=False,
    )  # fmt: skip
    html = body(staff_client.get(url(source, f"/events/{event.pk}"), **htmx))
    assert "the client&#x27;s clock was 2 min 0.250 s behind" in html
    assert "sentAt − receivedAt = −120.250 s" in html
    assert "Corrected for the clock skew" in html


def test_a_reject_detail_says_why_and_shows_the_message(staff_client, htmx, source, stream):
    html = body(staff_client.get(url(source, f"/rejects/{stream['reject'].pk}"), **htmx))
    assert "Rejected · no_user_anon_id" in html
    assert "userId or anonymousId is required" in html
    assert '"event": "No Ids"' in unescape(html)


def test_a_reject_that_is_not_json_is_shown_as_visible_text(staff_client, htmx, source):
    # Ingest replaces NUL with U+FFFD (PostgreSQL cannot store it), so stored rows never hold
    # NUL: ESC exercises the control-character display instead.
    reject = add_reject(source, "{broken\x1b", code="invalid_json", message="bad JSON")
    html = body(staff_client.get(url(source, f"/rejects/{reject.pk}"), **htmx))
    assert "{broken\u241b" in html and "(not a JSON object)" in html


# --- safety -------------------------------------------------------------------------------------


@pytest.fixture
def hostile(source, destination):
    message = {
        "type": "track",
        "event": HOSTILE["script"],
        "userId": HOSTILE["attribute"],
        "anonymousId": HOSTILE["url"],
        "properties": {HOSTILE["attribute"]: HOSTILE["url"], "html": HOSTILE["script"],
                       "long": "z" * 1500, "rtl": "abc\u202edef\x1b"},
        "context": {"library": {"name": HOSTILE["script"], "version": "1"}},
    }  # fmt: skip
    event = add_event(source, message)
    reject = add_reject(source, {"type": HOSTILE["attribute"], "event": HOSTILE["script"]})
    return event, reject


def test_hostile_payload_strings_render_as_inert_text(staff_client, htmx, source, hostile):
    event, reject = hostile
    pages = [
        body(staff_client.get(url(source))),
        body(staff_client.get(url(source, "?poll=1&after_ev=0&after_rj=0"), **htmx)),
        body(staff_client.get(url(source, f"/events/{event.pk}"))),
        body(staff_client.get(url(source, f"/rejects/{reject.pk}"))),
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_HANDLER.search(tags(html)) and not INLINE_STYLE.search(tags(html))
        # Payload data never reaches a URL or an hx-* attribute.
        for attribute in re.findall(r'(?:href|hx-[a-z]+|action|src)="([^"]*)"', html):
            assert "javascript" not in attribute and "alert" not in attribute, attribute
            assert "script" not in attribute.replace("/static/segmix/", ""), attribute


def test_hostile_strings_in_class_names_are_replaced(staff_client, source, hostile):
    html = body(staff_client.get(url(source)))
    assert 'class="badge type-other"' in html
    for classes in re.findall(r'class="([^"]*)"', html):
        assert "<" not in classes and "&" not in classes


def test_long_values_are_truncated_with_show_all_and_bidi_made_visible(
    staff_client, htmx, source, hostile
):
    event, _ = hostile
    html = body(staff_client.get(url(source, f"/events/{event.pk}"), **htmx))
    assert "z" * 1000 + "…" in html and "show all (1500 characters)" in html
    assert "abc\\u202edef\u241b" in html
    assert "\u202e" not in html and "\x1b" not in html


def test_secrets_never_reach_the_debugger(staff_client, source, stream):
    for address in every_url(source, stream):
        assert API_SECRET not in body(staff_client.get(address))


def test_every_hx_get_keeps_an_href(staff_client, source, stream):
    html = body(staff_client.get(url(source, f"/events/{stream['track'].pk}")))
    tags = re.findall(r"<[a-z]+[^>]*\bhx-get=[^>]*>", html)
    assert tags
    for tag in tags:
        assert "href=" in tag, tag


def test_the_failed_requests_panel_lists_refused_requests_escaped(staff_client, source, stream):
    from mappings.models import IngestRequest

    IngestRequest.objects.create(
        request_id="r400", source=source, route="/v1/batch", status=400, code="invalid_json",
        wire_bytes=12, user_agent="<b>ua</b>", body_excerpt='{"event": "<script>x</script>"\x1b',
    )  # fmt: skip
    IngestRequest.objects.create(request_id="r429", source=source, route="/v1/track", status=429)
    IngestRequest.objects.create(request_id="r200", source=source, route="/v1/batch", status=200)
    other = Source.objects.create(name="Other")
    IngestRequest.objects.create(request_id="rother", source=other, route="/v1/batch", status=400)
    html = body(staff_client.get(url(source)))
    panel = html[html.index('id="failed-requests"') :]
    assert "r400" in panel and "r429" in panel and "invalid_json" in panel
    assert "r200" not in panel and "rother" not in panel
    assert "&lt;script&gt;x&lt;/script&gt;" in panel and "\u241b" in panel and "<b>ua" not in panel


def test_an_invalid_filter_says_so_and_the_others_still_apply(staff_client, source, stream):
    html = body(staff_client.get(url(source, "?type=bogus&user_id=user-2")))
    assert "Select a valid choice." in html
    assert row_ids(html) == [f"ev-{stream['track'].pk}"]
