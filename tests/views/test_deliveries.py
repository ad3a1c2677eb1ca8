"""Deliveries (spec §7.2): funnel, chart, failures, search, replay with progress, the trace."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.models import Delivery, Destination
from tests.views.conftest import API_SECRET, body
from tests.views.history_support import add_event, add_request, settle

pytestmark = pytest.mark.django_db

TAG = re.compile(r"<[a-zA-Z][^>]*>")
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


def url(destination: Destination, suffix: str = "") -> str:
    return f"/destinations/{destination.pk}/deliveries{suffix}"


def track(source, event: str = "Signed Up", user: str = "user-1", **props):
    return add_event(source, {"type": "track", "event": event, "userId": user, "properties": props})


@pytest.fixture
def history(source, destination):
    """Two delivered, one failed (Mixpanel refused a field), one filtered, one pending."""
    delivered = settle(track(source, "Signed Up").deliveries.get(), Delivery.DELIVERED)
    other = settle(track(source, "Logged In", user="user-2").deliveries.get(), Delivery.DELIVERED)
    failed = settle(
        track(source, "Bad Time").deliveries.get(),
        Delivery.FAILED,
        field="properties.time",
        error="'properties.time' is invalid",
    )
    filtered = settle(
        add_event(source, {"type": "page", "anonymousId": "anon-9"}).deliveries.get(),
        Delivery.FILTERED,
    )
    pending = track(source, "Waiting").deliveries.get()
    request = add_request(destination, [delivered, other])
    refused = add_request(
        destination, [failed], status=400, verdict="failed",
        response='{"code": 400, "failed_records": [{"index": 0, "field": "properties.time"}]}',
    )  # fmt: skip
    return {"delivered": delivered, "other": other, "failed": failed, "filtered": filtered,
            "pending": pending, "request": request, "refused": refused}  # fmt: skip


def result_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'/deliveries/(\d+)">Trace', html)]


# --- access and CSRF ----------------------------------------------------------------------------


def gets(destination, history) -> list[str]:
    return [
        url(destination),
        url(destination, "/progress?delivery=1"),
        url(destination, f"/{history['failed'].pk}"),
    ]


def posts(destination, history) -> list[tuple[str, dict]]:
    return [
        (url(destination, "/replay"), {"range": "24h"}),
        (url(destination, f"/{history['failed'].pk}/retry"), {}),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, destination, history):
    for address in gets(destination, history):
        assert client.get(address)["Location"].startswith("/login/?next=")
    for address, data in posts(destination, history):
        assert client.post(address, data)["Location"].startswith("/login/?next=")
    assert Delivery.objects.get(pk=history["failed"].pk).status == Delivery.FAILED


def test_non_staff_users_get_403(user_client, destination, history):
    for address in gets(destination, history):
        assert user_client.get(address).status_code == 403
    for address, data in posts(destination, history):
        assert user_client.post(address, data).status_code == 403
    assert Delivery.objects.get(pk=history["failed"].pk).status == Delivery.FAILED


def test_posts_without_a_csrf_token_are_refused_htmx_included(csrf_client, destination, history):
    for address, data in posts(destination, history):
        assert csrf_client.post(address, data).status_code == 403
        assert csrf_client.post(address, data, HTTP_HX_REQUEST="true").status_code == 403
    assert Delivery.objects.get(pk=history["failed"].pk).status == Delivery.FAILED


def test_htmx_posts_with_the_page_token_are_accepted(csrf_client, destination, history, no_redis):
    page = body(csrf_client.get(url(destination)))
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = csrf_client.post(
        url(destination, "/replay"),
        {"range": "24h"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert Delivery.objects.get(pk=history["failed"].pk).status == Delivery.PENDING


def test_pages_are_read_only_and_other_destinations_are_not_reachable(
    staff_client, source, destination, history
):
    assert staff_client.post(url(destination)).status_code == 405
    assert staff_client.get(url(destination, "/replay")).status_code == 405
    other = create_destination("Other", {"projectToken": "t"}, sources=[source])
    assert staff_client.get(url(other, f"/{history['failed'].pk}")).status_code == 404
    assert staff_client.post(url(other, f"/{history['failed'].pk}/retry")).status_code == 404


# --- overview -----------------------------------------------------------------------------------


def test_the_funnel_counts_each_stage_and_links_to_the_list(staff_client, destination, history):
    html = body(staff_client.get(url(destination)))
    funnel = html[html.index('<table class="funnel">') : html.index("</table>")]
    rows = dict(
        (unescape(re.sub(r"<[^>]+>|\s+", " ", th)).split("(")[0].strip(), int(td))
        for th, td in re.findall(r"<th scope=\"row\">(.*?)</th><td>(\d+)</td>", funnel, re.S)
    )
    assert rows["Received from its sources"] == 5
    assert rows["Not for this destination"] == 0
    assert rows["No matching mapping"] == 1
    assert rows["Waiting for their first evaluation"] == 1
    assert rows["Matched a mapping"] == 3
    assert rows["Track Calls"] == 3
    assert rows["Delivered"] == 2 and rows["Failed"] == 1
    assert f'href="{url(destination)}?range=24h&amp;status=failed"' in funnel


def test_the_chart_is_inline_svg_with_an_accessible_summary(staff_client, destination, history):
    html = body(staff_client.get(url(destination, "?range=1h")))
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg and "5 in all, 1 failed" in svg
    assert svg.count('class="bar-volume"') == 13  # 12 five-minute buckets, plus the partial one
    assert svg.count('class="bar-failed"') == 1
    assert "style=" not in svg and "<script" not in svg


def test_failures_are_grouped_by_mixpanels_field_and_message_with_samples(
    staff_client, destination, history
):
    html = unescape(body(staff_client.get(url(destination))))
    section = html[html.index('id="failures-heading"') : html.index("Replay failed deliveries")]
    assert "properties.time" in section and "'properties.time' is invalid" in section
    assert f"/deliveries/{history['failed'].pk}" in section
    assert history["failed"].event.message_id in section


def test_a_paused_destination_shows_why_and_how_to_fix_it(staff_client, destination, history):
    now = timezone.now()
    Destination.objects.filter(pk=destination.pk).update(
        paused_at=now + timedelta(seconds=1), pause_reason="HTTP 401: Invalid API secret"
    )
    html = body(staff_client.get(url(destination)))
    assert "Delivery is paused" in html and "HTTP 401: Invalid API secret" in html
    assert "How to fix it:" in html
    assert f'action="/destinations/{destination.pk}/resume"' in html


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("event=Logged+In", ["other"]),
        ("distinct_id=user-2", ["other"]),
        ("distinct_id=anon-9", ["filtered"]),
        ("status=failed", ["failed"]),
        ("status=no_mapping", ["filtered"]),
        ("status=filtered_integrations", []),
        ("status=pending", ["pending"]),
    ],
)
def test_search_is_exact(staff_client, destination, history, query, expected):
    html = body(staff_client.get(url(destination, f"?{query}")))
    assert result_ids(html) == [history[k].pk for k in expected]


def test_search_by_message_id_and_by_mapping(staff_client, destination, history):
    message_id = history["failed"].event.message_id
    html = body(staff_client.get(url(destination, f"?message_id={message_id}")))
    assert result_ids(html) == [history["failed"].pk]
    track_calls = destination.mappings.order_by("position").first()
    html = body(staff_client.get(url(destination, f"?mapping={track_calls.pk}")))
    assert sorted(result_ids(html)) == sorted(
        history[k].pk for k in ("delivered", "other", "failed")
    )


def test_results_page_with_htmx_fragments(staff_client, htmx, source, destination):
    for i in range(55):
        track(source, f"E{i}")
    html = body(staff_client.get(url(destination)))
    assert len(result_ids(html)) == 50
    older = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#results"[^>]*>Older', html)
    fragment = body(staff_client.get(unescape(older.group(1)), **htmx))
    assert "<html" not in fragment and len(result_ids(fragment)) == 5
    assert ">Newer</a>" in fragment


# --- replay and retry ---------------------------------------------------------------------------


def test_replay_puts_failed_deliveries_back_and_reports_progress(
    staff_client, htmx, destination, history, no_redis
):
    html = body(staff_client.post(url(destination, "/replay"), {"range": "24h"}, **htmx))
    failed = Delivery.objects.get(pk=history["failed"].pk)
    assert failed.status == Delivery.PENDING and failed.reason == "replayed"
    assert Delivery.objects.get(pk=history["delivered"].pk).status == Delivery.DELIVERED
    assert no_redis == [destination.pk]  # a flush was asked for
    assert "Put back 1 delivery" in html and "1 still open" in html
    poll = re.search(r'hx-get="([^"]+)" hx-trigger="every 2s"', html).group(1)
    settle(failed, Delivery.DELIVERED)
    Delivery.objects.filter(pk=failed.pk).update(updated_at=timezone.now())  # as a flush does
    done = body(staff_client.get(unescape(poll), **htmx))
    assert "1 delivered" in done and "Done." in done and "hx-trigger" not in done


def test_replay_without_htmx_redirects_with_a_message(staff_client, destination, history):
    response = staff_client.post(url(destination, "/replay"), {"range": "7d"}, follow=True)
    assert response.redirect_chain[-1][0] == url(destination, "?range=7d")
    assert "1 failed deliveries put back in the outbox." in body(response)


def test_replay_needs_a_known_range(staff_client, destination, history):
    assert staff_client.post(url(destination, "/replay"), {"range": "1y"}).status_code == 400


def test_a_stalled_replay_says_why(staff_client, htmx, destination, history):
    Destination.objects.filter(pk=destination.pk).update(enabled=False)
    html = body(staff_client.post(url(destination, "/replay"), {"range": "24h"}, **htmx))
    assert "disabled or paused" in html


def test_retry_one_failed_delivery_from_its_trace(
    staff_client, htmx, destination, history, no_redis
):
    failed = history["failed"]
    html = body(staff_client.post(url(destination, f"/{failed.pk}/retry"), **htmx))
    assert "Retrying this delivery." in html and "1 still open" in html
    assert Delivery.objects.get(pk=failed.pk).status == Delivery.PENDING
    assert no_redis == [destination.pk]


def test_retrying_a_delivered_delivery_changes_nothing(
    staff_client, destination, history, no_redis
):
    delivered = history["delivered"]
    response = staff_client.post(url(destination, f"/{delivered.pk}/retry"), follow=True)
    assert "Only a failed delivery can be retried" in body(response)
    assert Delivery.objects.get(pk=delivered.pk).status == Delivery.DELIVERED and not no_redis


# --- the trace ----------------------------------------------------------------------------------


def test_the_trace_shows_each_mapping_payload_requests_and_responses(
    staff_client, destination, history
):
    failed = history["failed"]
    html = unescape(body(staff_client.get(url(destination, f"/{failed.pk}"))))
    assert "Why was this (not) sent?" in html
    track_calls = html[html.index(">Track Calls<") : html.index(">Order Completed Calls<")]
    assert "matched: records built" in track_calls
    assert '✓</span><span class="visually-hidden">true:</span> <code>type = "track"' in track_calls
    assert '"event": "Bad Time"' in track_calls  # the mapped payload as stored
    assert "'properties.time' is invalid" in track_calls
    page_calls = html[html.index(">Page Calls<") :]
    assert "does not match" in page_calls
    requests = html[html.index('id="requests-heading"') :]
    assert "HTTP 400" in requests and '"field": "properties.time"' in requests
    assert "1 of 1 record in this request were this message's" in requests
    assert "Basic •••••• (API secret)" in requests


def test_the_trace_lists_only_requests_that_carried_this_delivery(
    staff_client, destination, history
):
    html = body(staff_client.get(url(destination, f"/{history['delivered'].pk}")))
    assert html.count('class="trace-request"') == 1
    assert "1 of 2 records in this request" in html


def test_the_trace_says_when_the_mapping_changed_since(staff_client, destination, history):
    mapping = destination.mappings.order_by("position").first()
    mapping.version = 3
    mapping.trigger = 'type = "identify"'
    mapping.save()
    html = unescape(body(staff_client.get(url(destination, f"/{history['delivered'].pk}"))))
    assert "Evaluated with version 1; the mapping is at version 3 now" in html
    assert "does not match" in html


def test_hostile_payload_and_answers_render_as_text_in_deliveries_and_trace(
    staff_client, source, destination
):
    event = track(source, "<script>alert(1)</script>", user='"><img src=x onerror=alert(1)>')
    delivery = settle(
        event.deliveries.get(), Delivery.FAILED, field="javascript:alert(1)",
        error="<script>alert(2)</script>", body={"event": "<script>alert(3)</script>"},
    )  # fmt: skip
    add_request(destination, [delivery], status=400, verdict="failed",
                response='<script>alert(4)</script>')  # fmt: skip
    for address in (url(destination), url(destination, f"/{delivery.pk}")):
        html = body(staff_client.get(address))
        assert "<script>alert" not in html and "<img" not in html
        assert "&lt;script&gt;alert(" in html
        markup = "\n".join(TAG.findall(html))
        assert not INLINE_HANDLER.search(markup) and "style=" not in markup
        for value in re.findall(r'(?:href|hx-[a-z]+|action)="([^"]*)"', html):
            assert "javascript" not in value and "alert" not in value, value


def test_secrets_never_reach_these_pages(staff_client, htmx, destination, history):
    for address in gets(destination, history):
        assert API_SECRET not in body(staff_client.get(address, **htmx))
        assert API_SECRET not in body(staff_client.get(address, follow=True))


def test_the_progress_link_without_htmx_goes_back_to_its_page(staff_client, destination, history):
    failed = history["failed"]
    response = staff_client.get(url(destination, f"/progress?delivery={failed.pk}"))
    assert response["Location"] == url(destination, f"/{failed.pk}")
    assert staff_client.get(url(destination, "/progress?since=1"))["Location"] == url(destination)
