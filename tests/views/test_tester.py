"""The Event Tester: one event against every enabled mapping — dry run by default, real sends
only on the explicit "Send" POST."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.models import MixpanelRequest
from tests.fake_mixpanel import DEFAULT_API_SECRET, DEFAULT_TOKEN
from tests.views.conftest import API_SECRET, XSS, XSS_ESCAPED, body
from tests.views.editor_helpers import EVENT, store_event
from tests.views.html_forms import form_data, request_bodies

pytestmark = pytest.mark.django_db


def url_of(destination, suffix: str = "") -> str:
    return f"/destinations/{destination.pk}/tester{suffix}"


def test_anonymous_non_staff_and_csrf(client, user_client, csrf_client, destination):
    for url in (url_of(destination), url_of(destination, "/send")):
        assert client.post(url, {"payload": "{}"})["Location"].startswith("/login/")
        assert user_client.post(url, {"payload": "{}"}).status_code == 403
        assert csrf_client.post(url, {"payload": "{}"}).status_code == 403
        assert csrf_client.post(url, {"payload": "{}"}, HTTP_HX_REQUEST="true").status_code == 403
    assert client.get(url_of(destination))["Location"].startswith("/login/")
    assert user_client.get(url_of(destination)).status_code == 403


def test_the_page_dry_runs_a_sample_against_every_enabled_mapping(staff_client, destination):
    destination.mappings.filter(name="Group Calls").update(enabled=False)
    html = body(staff_client.get(url_of(destination)))
    assert "Dry run" in html
    for name in (
        "Track Calls",
        "Order Completed Calls",
        "Page Calls",
        "Identify Calls",
        "Screen Calls",
    ):
        assert f">{name}</h3>" in html
    assert ">Group Calls</h3>" not in html
    assert html.count("matched: ready to send") == 1  # the track sample matches Track Calls only
    assert 'hx-post="/destinations/' in html and f'action="{url_of(destination)}"' in html


def test_a_posted_event_answers_with_the_tester_partial(staff_client, destination, htmx, mp):
    response = staff_client.post(url_of(destination), {"payload": json.dumps(EVENT)}, **htmx)
    html = body(response)
    assert html.lstrip().startswith('<form id="tester"') and "<html" not in html
    [[record]] = request_bodies(html)
    assert record["event"] == "Song Played" and record["properties"]["platform"] == "android"
    assert mp.requests() == [] and MixpanelRequest.objects.count() == 0
    assert "API host overridden by deployment" in html


def test_events_and_secrets_in_the_tester(staff_client, destination, htmx):
    event = {**EVENT, "event": XSS, "properties": {"note": XSS}}
    response = staff_client.post(url_of(destination), {"payload": json.dumps(event)}, **htmx)
    assert XSS.encode() not in response.content and XSS_ESCAPED in response.content
    assert API_SECRET not in body(response) and "Basic •••••• (API secret)" in body(response)


def test_invalid_json_is_reported(staff_client, destination, htmx):
    html = body(staff_client.post(url_of(destination), {"payload": "{nope"}, **htmx))
    assert "Not valid JSON" in html and "Enter a test event" in html


def test_send_sends_for_real_through_each_matching_mapping(staff_client, source, mp, htmx):
    destination = create_destination(
        "Dev project",
        {"projectToken": DEFAULT_TOKEN, "apiSecret": DEFAULT_API_SECRET},
        sources=[source],
        enabled=True,
    )
    now = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {**EVENT, "timestamp": now, "receivedAt": now}
    html = body(
        staff_client.post(url_of(destination, "/send"), {"payload": json.dumps(event)}, **htmx)
    )
    assert "Mixpanel's answer" in html and "HTTP 200" in html and ">delivered</span>" in html
    assert [r["event"] for r in mp.records()] == ["Song Played"]
    assert MixpanelRequest.objects.get().test is True
    assert DEFAULT_API_SECRET not in html


def test_load_a_recent_event_or_a_sample(staff_client, source, destination, htmx):
    stored = store_event(source, {**EVENT, "messageId": "stored-1"}, 5)
    html = body(staff_client.post(url_of(destination), {"payload": "", "load": "recent"}, **htmx))
    assert f'name="event_id" value="{stored.pk}"' in html and "stored-1" in html
    data = form_data(html, "tester")
    html = body(staff_client.post(url_of(destination), {**data, "load": "older"}, **htmx))
    assert "No older stored event." in html
    html = body(
        staff_client.post(url_of(destination), {"load": "sample", "sample_type": "page"}, **htmx)
    )
    assert (
        "&quot;type&quot;: &quot;page&quot;" in html and html.count("matched: ready to send") == 1
    )


def test_a_stored_event_opens_from_the_query_string(staff_client, source, destination):
    stored = store_event(source, {**EVENT, "messageId": "from-debugger"}, 5)
    data = form_data(body(staff_client.get(url_of(destination) + f"?event={stored.pk}")), "tester")
    assert json.loads(data["payload"])["messageId"] == "from-debugger"
