"""The mapping editor's explicit actions: Send test event (against the fake Mixpanel), Check
impact, and History (versions, diff, restore)."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.models import Delivery, Event, Mapping, MixpanelRequest
from tests.fake_mixpanel import DEFAULT_API_SECRET, DEFAULT_TOKEN
from tests.views.conftest import XSS, XSS_ESCAPED, body
from tests.views.editor_helpers import EVENT, edit_url, page_data, store_event
from tests.views.html_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(source):
    """A destination the fake Mixpanel accepts (its default project's credentials)."""
    return create_destination(
        "Mixpanel dev",
        {"projectToken": DEFAULT_TOKEN, "apiSecret": DEFAULT_API_SECRET},
        sources=[source],
        enabled=True,
    )


def fresh_event() -> dict:
    now = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**EVENT, "messageId": "test-send-1", "timestamp": now, "receivedAt": now}


# Send test event -------------------------------------------------------------------------------


def test_send_test_event_sends_the_unsaved_editor_state_for_real(staff_client, live, mp, htmx):
    mapping = live.mappings.get(name="Track Calls")
    data = page_data(staff_client, edit_url(mapping))
    data.update(
        {"f-event-mode": "static", "f-event-shown": "static", "f-event-value": "Edited Name"}
    )
    data["payload"] = json.dumps(fresh_event())
    response = staff_client.post(edit_url(mapping, "/test-send"), data, **htmx)
    html = body(response)
    assert html.lstrip().startswith('<div id="test-result"')
    assert (
        "HTTP 200" in html and ">delivered</span>" in html and "with your unsaved changes" in html
    )
    assert "Content-Type" in html and "Basic •••••• (API secret)" in html
    assert [r["event"] for r in mp.records()] == ["Edited Name"]
    sent = MixpanelRequest.objects.get()
    assert sent.test is True and sent.destination == live and sent.mapping_id == mapping.pk
    assert Delivery.objects.count() == 0
    mapping.refresh_from_db()
    assert mapping.mapping["event"] == {"@path": "$.event"}  # nothing was saved
    assert DEFAULT_API_SECRET not in html
    assert base64.b64encode(f"{DEFAULT_API_SECRET}:".encode()).decode() not in html


def test_the_saved_mapping_goes_through_the_delivery_entry_point(staff_client, live, mp, htmx):
    mapping = live.mappings.get(name="Track Calls")
    data = {**page_data(staff_client, edit_url(mapping)), "payload": json.dumps(fresh_event())}
    html = body(staff_client.post(edit_url(mapping, "/test-send"), data, **htmx))
    assert "with your unsaved changes" not in html and "HTTP 200" in html
    assert [r["event"] for r in mp.records()] == ["Song Played"]


def test_send_test_event_can_target_another_destination(staff_client, destination, live, mp, htmx):
    mapping = destination.mappings.get(name="Track Calls")  # its own credentials are not the fake's
    data = {**page_data(staff_client, edit_url(mapping)), "payload": json.dumps(fresh_event())}
    data["test_target"] = str(live.pk)
    html = body(staff_client.post(edit_url(mapping, "/test-send"), data, **htmx))
    assert "Sent to <strong>Mixpanel dev</strong>" in html and "HTTP 200" in html
    assert MixpanelRequest.objects.get().destination == live
    assert len(mp.records()) == 1


def test_send_test_event_shows_mixpanel_refusing_and_our_classification(
    staff_client, live, mp, htmx
):
    mp.script("/import", status=429, headers={"Retry-After": "30"})
    mapping = live.mappings.get(name="Track Calls")
    data = {**page_data(staff_client, edit_url(mapping)), "payload": json.dumps(fresh_event())}
    html = body(staff_client.post(edit_url(mapping, "/test-send"), data, **htmx))
    assert "HTTP 429" in html and "Retry-After" in html and "would retry" in html
    assert len(mp.requests()) == 1  # retries are off


def test_a_non_matching_or_invalid_test_event_sends_nothing(staff_client, live, mp, htmx):
    mapping = live.mappings.get(name="Track Calls")
    data = page_data(staff_client, edit_url(mapping))
    html = body(
        staff_client.post(
            edit_url(mapping, "/test-send"),
            {**data, "payload": json.dumps({**fresh_event(), "type": "identify"})},
            **htmx,
        )
    )
    assert "nothing sent" in html
    html = body(
        staff_client.post(edit_url(mapping, "/test-send"), {**data, "payload": "[1]"}, **htmx)
    )
    assert "Enter a valid test event" in html
    assert mp.requests() == []


def test_send_test_event_escapes_the_event(staff_client, live, mp, htmx):
    mapping = live.mappings.get(name="Track Calls")
    data = {
        **page_data(staff_client, edit_url(mapping)),
        "payload": json.dumps({**fresh_event(), "event": XSS}),
    }
    response = staff_client.post(edit_url(mapping, "/test-send"), data, **htmx)
    assert XSS.encode() not in response.content and XSS_ESCAPED in response.content


def test_send_test_event_works_without_javascript(staff_client, live, mp):
    mapping = live.mappings.get(name="Track Calls")
    data = {**page_data(staff_client, edit_url(mapping)), "payload": json.dumps(fresh_event())}
    html = body(staff_client.post(edit_url(mapping, "/test-send"), data))
    assert "<html" in html and "HTTP 200" in html


# Impact ----------------------------------------------------------------------------------------


def test_check_impact_counts_matches_before_and_after_and_diffs_one(
    staff_client, source, destination, htmx
):
    mapping = destination.mappings.get(name="Track Calls")
    store_event(source, {**EVENT, "messageId": "i-1", "properties": {"platform": "ios"}}, 30)
    store_event(source, {**EVENT, "messageId": "i-2"}, 20)
    store_event(source, {**EVENT, "messageId": "i-3", "type": "identify"}, 10)
    data = page_data(staff_client, edit_url(mapping))
    data.update(
        {"trigger_mode": "raw", "trigger_raw": 'type = "track" and properties.platform = "android"'}
    )
    counts = (Event.objects.count(), MixpanelRequest.objects.count(), mapping.versions.count())
    html = body(staff_client.post(edit_url(mapping, "/impact"), data, **htmx))
    assert html.lstrip().startswith('<div id="impact"')
    assert (
        "<strong>3</strong> events: <strong>2</strong> matched before, <strong>1</strong> would match after"
        in html
    )
    assert "<strong>1</strong> would be sent differently" in html
    assert '<span class="diff-del">-  &quot;status&quot;: &quot;ready&quot;,</span>' in html
    assert '<span class="diff-add">+  &quot;status&quot;: &quot;not_matched&quot;,</span>' in html
    assert (
        Event.objects.count(),
        MixpanelRequest.objects.count(),
        mapping.versions.count(),
    ) == counts


def test_check_impact_without_events_says_so(staff_client, destination, htmx):
    mapping = destination.mappings.get(name="Track Calls")
    html = body(
        staff_client.post(
            edit_url(mapping, "/impact"), page_data(staff_client, edit_url(mapping)), **htmx
        )
    )
    assert "No stored events yet" in html


# History ---------------------------------------------------------------------------------------


def save_trigger(client, mapping: Mapping, trigger: str) -> None:
    data = {**page_data(client, edit_url(mapping)), "trigger_mode": "raw", "trigger_raw": trigger}
    assert client.post(edit_url(mapping), data).status_code == 302


def test_every_save_keeps_a_version_listed_with_who_and_when(staff_client, destination):
    mapping = destination.mappings.get(name="Track Calls")
    save_trigger(staff_client, mapping, 'type = "track"')
    save_trigger(staff_client, mapping, 'type = "track" and userId != null')
    html = body(staff_client.get(edit_url(mapping)))
    history = html[html.index('id="history"') :]
    assert [v.version for v in mapping.versions.order_by("-version")] == [3, 2, 1]
    assert history.count('<td data-label="Saved by">grace</td>') == 2
    assert "Saved as version 3." in html


def test_a_version_diffs_against_the_current_mapping(staff_client, destination, htmx):
    mapping = destination.mappings.get(name="Track Calls")
    save_trigger(staff_client, mapping, 'type = "track"')
    url = f"/destinations/{destination.pk}/mappings/{mapping.pk}/versions/1/diff"
    html = body(staff_client.get(url, **htmx))
    assert html.lstrip().startswith('<div id="diff"')
    assert (
        '<span class="diff-del">-  &quot;trigger&quot;: &quot;type = \\&quot;track\\&quot; and event != \\&quot;Order Completed\\&quot;&quot;,</span>'
        in html
    )
    assert (
        '<span class="diff-add">+  &quot;trigger&quot;: &quot;type = \\&quot;track\\&quot;&quot;,</span>'
        in html
    )
    full = body(staff_client.get(url))
    assert "<html" in full and 'class="diff-add"' in full
    assert staff_client.get(url.replace("/1/", "/9/")).status_code == 404


def test_restore_saves_the_old_version_as_a_new_one(staff_client, destination):
    mapping = destination.mappings.get(name="Track Calls")
    original = mapping.trigger
    save_trigger(staff_client, mapping, 'type = "track"')
    url = f"/destinations/{destination.pk}/mappings/{mapping.pk}/versions/1/restore"
    response = staff_client.post(url)
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.trigger == original and mapping.version == 3
    assert mapping.versions.get(version=3).saved_by == "grace"
    assert "Version 1 restored as version 3." in body(staff_client.get(edit_url(mapping)))
    assert staff_client.get(url).status_code == 405


def test_restore_keeps_the_name_when_another_mapping_took_it(staff_client, destination):
    mapping = destination.mappings.get(name="Track Calls")
    data = {**page_data(staff_client, edit_url(mapping)), "name": "Renamed"}
    staff_client.post(edit_url(mapping), data)
    other = destination.mappings.get(name="Page Calls")
    other.name = "Track Calls"
    other.save()
    staff_client.post(f"/destinations/{destination.pk}/mappings/{mapping.pk}/versions/1/restore")
    mapping.refresh_from_db()
    assert mapping.name == "Renamed"
    assert "the name was kept" in body(staff_client.get(edit_url(mapping)))


def test_history_forms_and_links_work_without_javascript(staff_client, destination):
    mapping = destination.mappings.get(name="Track Calls")
    save_trigger(staff_client, mapping, 'type = "track"')
    html = body(staff_client.get(edit_url(mapping)))
    assert (
        f'action="/destinations/{destination.pk}/mappings/{mapping.pk}/versions/1/restore"' in html
    )
    assert (
        f'href="/destinations/{destination.pk}/mappings/{mapping.pk}/versions/1/diff#diff"' in html
    )
    assert form_data(html)["name"] == "Track Calls"
