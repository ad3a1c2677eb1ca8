"""The mapping editor: access, the seed's click paths as form posts, saving and validation,
the htmx partials, and the live Event Content preview (exact bodies, escaping, no secrets)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.delivery.send import request_options
from mappings.destinations.mixpanel.actions import get_action
from mappings.ingest.timestamps import parse_timestamp_ms
from mappings.models import Event, Mapping, MappingVersion, MixpanelRequest
from mappings.plans import plan_for
from mappings.preview import preview_event
from tests.views.conftest import API_SECRET, SA_SECRET, TOKEN, XSS, XSS_ESCAPED, body
from tests.views.editor_helpers import (
    EVENT,
    edit_url,
    new_track_mapping,
    page_data,
    post_page,
    store_event,
)
from tests.views.html_forms import form_data, request_bodies

pytestmark = pytest.mark.django_db


@pytest.fixture
def track_calls(destination) -> Mapping:
    return destination.mappings.get(name="Track Calls")


# Access ----------------------------------------------------------------------------------------


def endpoints(mapping: Mapping) -> list[tuple[str, str]]:
    base = f"/destinations/{mapping.destination_id}/mappings/{mapping.pk}"
    return [
        ("GET", edit_url(mapping)),
        ("POST", edit_url(mapping)),
        ("POST", edit_url(mapping, "/trigger")),
        ("POST", edit_url(mapping, "/trigger/check")),
        ("POST", edit_url(mapping, "/fields")),
        ("POST", edit_url(mapping, "/preview")),
        ("POST", edit_url(mapping, "/payload")),
        ("POST", edit_url(mapping, "/test-send")),
        ("POST", edit_url(mapping, "/impact")),
        ("GET", f"{base}/versions/1/diff"),
        ("POST", f"{base}/versions/1/restore"),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, track_calls):
    for method, url in endpoints(track_calls):
        response = client.get(url) if method == "GET" else client.post(url, {"name": "x"})
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_signed_in_non_staff_users_get_403(user_client, track_calls):
    for method, url in endpoints(track_calls):
        response = user_client.get(url) if method == "GET" else user_client.post(url, {"name": "x"})
        assert response.status_code == 403, url


def test_every_post_needs_the_csrf_token_htmx_included(csrf_client, track_calls):
    for method, url in endpoints(track_calls):
        if method == "POST":
            assert csrf_client.post(url, {"name": "x"}).status_code == 403, url
            assert csrf_client.post(url, {"name": "x"}, HTTP_HX_REQUEST="true").status_code == 403
    assert MappingVersion.objects.filter(mapping=track_calls).count() == 1


def test_a_mapping_of_another_destination_is_not_found(staff_client, track_calls, source):
    other = create_destination("Other", {"projectToken": "t"}, sources=[source])
    response = staff_client.get(f"/destinations/{other.pk}/mappings/{track_calls.pk}/edit")
    assert response.status_code == 404


# The page --------------------------------------------------------------------------------------


def test_the_page_shows_the_builder_every_field_and_a_preview(staff_client, track_calls):
    html = body(staff_client.get(edit_url(track_calls)))
    assert 'name="t-1-field"' in html and 'name="t-2-op"' in html
    assert (
        "FQL: <code>type = &quot;track&quot; and event != &quot;Order Completed&quot;</code>"
        in html
    )
    for field in get_action("trackEvent").fields:
        if not field.hidden:
            assert f'id="field-{field.key}"' in html, field.key
            assert field.label in html
    assert 'Event Name <span class="required"' in html
    assert "Track Calls</h3>" in html and "POST https://api.mixpanel.com/import" in html.replace(
        "</strong> <code>", " "
    )
    assert 'aria-live="polite"' in html
    assert "/static/segmix/editor.css" in html and "/static/segmix/editor.js" in html


def test_opening_and_saving_any_preset_changes_nothing(staff_client, destination):
    for mapping in destination.mappings.all():
        data = page_data(staff_client, edit_url(mapping))
        response = staff_client.post(edit_url(mapping), data)
        assert response.status_code == 302, (mapping.name, body(response)[:300])
        mapping.refresh_from_db()
        assert mapping.versions.count() == 1, mapping.name


def test_a_trigger_the_builder_cannot_show_opens_on_the_raw_tab(staff_client, track_calls):
    track_calls.trigger = '!(type = "identify")'
    track_calls.save()
    html = body(staff_client.get(edit_url(track_calls)))
    assert 'id="id_trigger_raw"' in html and "builder cannot show" in html
    assert 'name="t-0-kind"' not in html


# The seed's click paths ------------------------------------------------------------------------


def test_seed_track_and_event_property_platform_equal_android_by_clicking(
    staff_client, destination
):
    mapping = new_track_mapping(staff_client, destination)
    data = page_data(staff_client, edit_url(mapping))
    assert data["t-1-value"] == "track"
    data = post_page(
        staff_client, edit_url(mapping, "/trigger"), {**data, "builder": "add-condition:0"}
    )
    data["t-2-field"] = "properties"  # the select re-renders the row with a path input
    data = post_page(staff_client, edit_url(mapping, "/trigger"), {**data, "builder": "refresh"})
    assert "t-2-path" in data
    data.update({"t-2-path": "platform", "t-2-op": "eq", "t-2-value": "android"})
    response = staff_client.post(edit_url(mapping), data)
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.trigger == 'type = "track" and properties.platform = "android"'
    assert mapping.version == 2


def test_seed_segment_message_id_event_property_by_clicking(staff_client, destination):
    mapping = new_track_mapping(staff_client, destination)
    before = dict(mapping.mapping)
    data = page_data(staff_client, edit_url(mapping))
    data["f-event_properties-mode"] = "kv"
    data = post_page(
        staff_client, edit_url(mapping, "/fields"), {**data, "field": "event_properties"}
    )
    assert data["f-event_properties-shown"] == "kv"
    data = post_page(
        staff_client, edit_url(mapping, "/fields"), {**data, "field_action": "add:event_properties"}
    )
    assert data["f-event_properties-kv-0-mode"] == "path"
    data.update(
        {
            "f-event_properties-kv-0-key": "Segment Message ID",
            "f-event_properties-kv-0-value": "$.messageId",
            "payload": json.dumps(EVENT),
        }
    )
    page = body(staff_client.post(edit_url(mapping, "/preview"), data))
    [[record]] = request_bodies(page)
    assert record["properties"]["Segment Message ID"] == "msg-0001"
    assert "plan" not in record["properties"]  # the whole properties object is no longer sent
    assert staff_client.post(edit_url(mapping), data).status_code == 302
    mapping.refresh_from_db()
    assert mapping.mapping == {
        **before,
        "event_properties": {"Segment Message ID": {"@path": "$.messageId"}},
    }


# Field values ----------------------------------------------------------------------------------


def test_static_template_and_json_values_are_saved_as_mapping_kit(staff_client, track_calls):
    data = page_data(staff_client, edit_url(track_calls))
    data.update(
        {
            "f-event-mode": "template",
            "f-event-shown": "template",
            "f-event-value": "Viewed {{name}}",
        }
    )
    data.update(
        {"f-batch_size-mode": "static", "f-batch_size-shown": "static", "f-batch_size-value": "500"}
    )
    data.update({"f-wifi-mode": "static", "f-wifi-shown": "static", "f-wifi-value": "true"})
    data.update(
        {
            "f-app_name-mode": "json",
            "f-app_name-shown": "json",
            "f-app_name-json": '{"@literal": "Acme"}',
        }
    )
    data.update({"f-carrier-value": ""})  # emptied: not mapped any more
    assert staff_client.post(edit_url(track_calls), data).status_code == 302
    track_calls.refresh_from_db()
    mapping = track_calls.mapping
    assert mapping["event"] == {"@template": "Viewed {{name}}"}
    assert mapping["batch_size"] == 500 and mapping["wifi"] is True
    assert mapping["app_name"] == {"@literal": "Acme"} and "carrier" not in mapping


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"f-event-value": ""}, "event", "Event Name is required"),
        (
            {
                "f-batch_size-mode": "static",
                "f-batch_size-shown": "static",
                "f-batch_size-value": "5000",
            },
            "batch_size",
            "1 to 2000",
        ),
        (
            {
                "f-batch_size-mode": "static",
                "f-batch_size-shown": "static",
                "f-batch_size-value": "lots",
            },
            "batch_size",
            "Enter a number",
        ),
        (
            {"f-app_name-mode": "json", "f-app_name-shown": "json", "f-app_name-json": "{oops"},
            "app_name",
            "Not valid JSON",
        ),
        (
            {
                "f-app_name-mode": "json",
                "f-app_name-shown": "json",
                "f-app_name-json": '{"@path": 5}',
            },
            "app_name",
            "/app_name/@path",
        ),
    ],
)
def test_saving_validates_and_shows_the_error_next_to_the_field(
    staff_client, track_calls, changes, field, message
):
    data = {**page_data(staff_client, edit_url(track_calls)), **changes}
    response = staff_client.post(edit_url(track_calls), data)
    assert response.status_code == 422
    html = body(response)
    section = html[html.index(f'id="field-{field}"') :]
    section = (
        section[: section.index('class="mapping-field', 10)]
        if 'class="mapping-field' in section[10:]
        else section
    )
    assert message in section
    assert track_calls.versions.count() == 1


def test_an_invalid_raw_trigger_is_not_saved(staff_client, track_calls):
    data = page_data(staff_client, edit_url(track_calls))
    data.update({"trigger_mode": "raw", "trigger_raw": 'type = "track" and'})
    response = staff_client.post(edit_url(track_calls), data)
    assert response.status_code == 422 and "position" in body(response)


def test_a_duplicate_name_is_refused(staff_client, track_calls):
    data = {**page_data(staff_client, edit_url(track_calls)), "name": "Page Calls"}
    response = staff_client.post(edit_url(track_calls), data)
    assert response.status_code == 422 and "Another mapping" in body(response)


# htmx partials ---------------------------------------------------------------------------------


def test_builder_buttons_answer_with_the_trigger_partial_and_ask_for_a_preview(
    staff_client, track_calls, htmx
):
    data = page_data(staff_client, edit_url(track_calls))
    response = staff_client.post(
        edit_url(track_calls, "/trigger"), {**data, "builder": "add-group:0"}, **htmx
    )
    html = body(response)
    assert html.lstrip().startswith('<div id="trigger">') and "<html" not in html
    assert 'name="t-3-kind" value="group"' in html and "data-autofocus" in html
    assert "editor-changed" in response["HX-Trigger"]


def test_validate_as_you_type_answers_with_the_check_only(staff_client, track_calls, htmx):
    data = page_data(staff_client, edit_url(track_calls))
    data["t-2-value"] = ""
    html = body(staff_client.post(edit_url(track_calls, "/trigger/check"), data, **htmx))
    assert html.lstrip().startswith('<div id="trigger-check"')
    assert 'id="row-error-2" class="error row-error" hx-swap-oob="true">Enter a value.' in html
    raw = {**data, "trigger_mode": "raw", "trigger_raw": 'type="track" and event = Signup'}
    html = body(staff_client.post(edit_url(track_calls, "/trigger/check"), raw, **htmx))
    assert "unquoted-value" in html and "As typed" in html


def test_a_field_mode_switch_answers_with_that_field(staff_client, track_calls, htmx):
    data = {**page_data(staff_client, edit_url(track_calls)), "f-event_properties-mode": "json"}
    response = staff_client.post(
        edit_url(track_calls, "/fields"), {**data, "field": "event_properties"}, **htmx
    )
    html = body(response)
    assert html.lstrip().startswith('<div class="mapping-field" id="field-event_properties"')
    assert "&quot;@path&quot;: &quot;$.properties&quot;" in html


def test_the_preview_partial_is_live_and_side_effect_free(staff_client, track_calls, htmx, mp):
    data = {**page_data(staff_client, edit_url(track_calls)), "payload": json.dumps(EVENT)}
    counts = (
        MappingVersion.objects.count(),
        MixpanelRequest.objects.count(),
        Event.objects.count(),
    )
    html = body(staff_client.post(edit_url(track_calls, "/preview"), data, **htmx))
    assert html.lstrip().startswith('<div id="preview"') and 'hx-swap-oob="innerHTML"' in html
    assert mp.requests() == []
    assert (
        MappingVersion.objects.count(),
        MixpanelRequest.objects.count(),
        Event.objects.count(),
    ) == counts
    assert "API host overridden by deployment" in html and mp.url in html


# Preview content -------------------------------------------------------------------------------


def test_the_preview_shows_exactly_the_body_preview_event_builds(staff_client, track_calls):
    data = {**page_data(staff_client, edit_url(track_calls)), "payload": json.dumps(EVENT)}
    html = body(staff_client.post(edit_url(track_calls, "/preview"), data))
    now_ms = int(timezone.now().timestamp() * 1000)
    document = preview_event(
        EVENT,
        plan_for(track_calls.destination),
        stored_event_id="msg-0001",
        received_at_ms=parse_timestamp_ms(EVENT["receivedAt"]),
        now_ms=now_ms,
        **request_options(),
    )
    [expected] = [m for m in document["mappings"] if m["name"] == "Track Calls"]
    assert request_bodies(html) == [r["body"] for r in expected["requests"]]
    assert 'type = &quot;track&quot;</code> <span class="cond-result">true</span>' in html


def test_the_preview_explains_a_non_match_and_the_reserved_id_property(staff_client, track_calls):
    data = page_data(staff_client, edit_url(track_calls))
    event = {**EVENT, "event": "Order Completed", "properties": {"id": "p-1"}}
    html = body(
        staff_client.post(edit_url(track_calls, "/preview"), {**data, "payload": json.dumps(event)})
    )
    assert "Not matched." in html and '<span class="cond-result">false</span>' in html
    html = body(
        staff_client.post(
            edit_url(track_calls, "/preview"),
            {**data, "payload": json.dumps({**EVENT, "properties": {"id": "p-1"}})},
        )
    )
    assert "P19 warn" in html


def test_an_ad_hoc_event_without_received_at_is_labelled_now(staff_client, track_calls):
    data = page_data(staff_client, edit_url(track_calls))
    event = {k: v for k, v in EVENT.items() if k != "receivedAt"}
    html = body(
        staff_client.post(edit_url(track_calls, "/preview"), {**data, "payload": json.dumps(event)})
    )
    assert "receivedAt is now" in html


def test_invalid_json_says_where(staff_client, track_calls):
    data = {**page_data(staff_client, edit_url(track_calls)), "payload": '{"type": "track",}'}
    html = body(staff_client.post(edit_url(track_calls, "/preview"), data))
    assert "Not valid JSON" in html and "line 1" in html


def test_event_payloads_are_always_escaped(staff_client, track_calls, htmx):
    data = page_data(staff_client, edit_url(track_calls))
    event = {**EVENT, "event": XSS, "properties": {XSS: XSS}}
    for url in (
        edit_url(track_calls, "/preview"),
        edit_url(track_calls, "/payload"),
        edit_url(track_calls),
    ):
        response = staff_client.post(url, {**data, "payload": json.dumps(event)}, **htmx)
        assert XSS.encode() not in response.content, url
        if url.endswith("preview"):
            assert XSS_ESCAPED in response.content


def test_secrets_never_appear_in_any_editor_response(staff_client, source, htmx):
    destination = create_destination(
        "With service account",
        {
            "projectToken": TOKEN,
            "apiSecret": API_SECRET,
            "serviceAccountUsername": "bot.1.mp-service-account",
            "serviceAccountSecret": SA_SECRET,
            "projectId": "123",
        },
        sources=[source],
    )
    mapping = destination.mappings.get(name="Track Calls")
    data = {**page_data(staff_client, edit_url(mapping)), "payload": json.dumps(EVENT)}
    forbidden = [
        API_SECRET,
        SA_SECRET,
        base64.b64encode(f"bot.1.mp-service-account:{SA_SECRET}".encode()).decode(),
    ]
    responses = [staff_client.get(edit_url(mapping))]
    for suffix in ("/preview", "/trigger", "/trigger/check", "/payload", "/impact"):
        responses.append(staff_client.post(edit_url(mapping, suffix), data, **htmx))
    for response in responses:
        for secret in forbidden:
            assert secret not in body(response)
    assert "Basic •••••• (service account" in body(responses[1])


# Loading a test event --------------------------------------------------------------------------


def test_load_recent_older_matching_and_samples(staff_client, source, track_calls, htmx):
    newest = store_event(source, {**EVENT, "type": "identify", "messageId": "m-3"}, 10)
    middle = store_event(source, {**EVENT, "messageId": "m-2"}, 20)
    oldest = store_event(source, {**EVENT, "messageId": "m-1"}, 30)
    data = page_data(staff_client, edit_url(track_calls))
    url = edit_url(track_calls, "/payload")
    html = body(staff_client.post(url, {**data, "load": "recent"}, **htmx))
    assert html.lstrip().startswith('<div id="event-content"') and "m-3" in html
    assert f'name="event_id" value="{newest.pk}"' in html
    html = body(staff_client.post(url, {**data, "load": "recent", "matching_only": "on"}, **htmx))
    assert f'name="event_id" value="{middle.pk}"' in html and "stored event #" in html
    loaded = form_data(
        body(staff_client.post(url, {**data, "load": "recent", "matching_only": "on"}))
    )
    html = body(staff_client.post(url, {**loaded, "load": "older"}, **htmx))
    assert f'name="event_id" value="{oldest.pk}"' in html
    html = body(
        staff_client.post(url, {**data, "load": "sample", "sample_type": "identify"}, **htmx)
    )
    assert "&quot;type&quot;: &quot;identify&quot;" in html and "trigger did not match" in html


def test_loading_when_there_are_no_events_says_so(staff_client, track_calls, htmx):
    data = page_data(staff_client, edit_url(track_calls))
    html = body(
        staff_client.post(edit_url(track_calls, "/payload"), {**data, "load": "recent"}, **htmx)
    )
    assert "No stored event." in html


def test_a_stored_event_opens_from_the_query_string(staff_client, source, track_calls):
    event = store_event(source, {**EVENT, "messageId": "from-debugger"}, 5)
    data = page_data(staff_client, edit_url(track_calls) + f"?event={event.pk}")
    assert json.loads(data["payload"])["messageId"] == "from-debugger"
    assert data["event_id"] == str(event.pk)


def test_the_test_event_survives_a_save(staff_client, track_calls):
    data = {
        **page_data(staff_client, edit_url(track_calls)),
        "payload": json.dumps({**EVENT, "messageId": "kept"}),
    }
    staff_client.post(edit_url(track_calls), data)
    assert (
        json.loads(page_data(staff_client, edit_url(track_calls))["payload"])["messageId"] == "kept"
    )
    assert django_settings.SESSION_ENGINE  # stored in the session, not in the URL


def test_editor_and_tester_pages_obey_the_csp_and_work_without_javascript(
    staff_client, track_calls
):
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    inline_style = re.compile(r"<style|\sstyle=", re.I)
    inline_handler = re.compile(r"\son[a-z]+=", re.I)
    for url in (edit_url(track_calls), f"/destinations/{track_calls.destination_id}/tester"):
        html = body(staff_client.get(url))
        assert not inline_script.search(html), url
        assert not inline_style.search(html), url
        assert not inline_handler.search(html), url
        for tag in re.findall(r"<[a-z]+[^>]*\bhx-get=[^>]*>", html):
            assert "href=" in tag, tag
        for tag in re.findall(r"<form[^>]*\bhx-post=[^>]*>", html):
            assert 'action="' in tag and 'method="post"' in tag, tag
        for tag in re.findall(r"<button[^>]*\bhx-post=[^>]*>", html):
            assert "formaction=" in tag, tag
        # Every control has a label.
        ids = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
            if 'type="hidden"' in tag or "csrfmiddlewaretoken" in tag:
                continue
            control_id = re.search(r'\bid="([^"]+)"', tag)
            assert control_id and control_id.group(1) in ids, tag


def test_key_value_rows_are_added_and_removed_in_order(staff_client, track_calls, htmx):
    data = {**page_data(staff_client, edit_url(track_calls)), "f-event_properties-mode": "kv"}
    url = edit_url(track_calls, "/fields")
    data = post_page(staff_client, url, {**data, "field": "event_properties"})
    for _ in range(2):
        data = post_page(staff_client, url, {**data, "field_action": "add:event_properties"})
    data.update({"f-event_properties-kv-0-key": "first", "f-event_properties-kv-0-value": "$.a"})
    data.update({"f-event_properties-kv-1-key": "second", "f-event_properties-kv-1-value": "$.b"})
    html = body(
        staff_client.post(url, {**data, "field_action": "remove:event_properties:0"}, **htmx)
    )
    assert 'value="second"' in html and 'value="first"' not in html
    assert 'name="f-event_properties-kv-0-key"' in html and "kv-1-key" not in html


def test_a_blank_key_or_a_duplicate_is_reported_on_its_row(staff_client, track_calls):
    data = {**page_data(staff_client, edit_url(track_calls)), "f-event_properties-mode": "kv"}
    data.update({"f-event_properties-shown": "kv"})
    for i, key in enumerate(("", "dup", "dup")):
        data.update(
            {f"f-event_properties-kv-{i}-key": key, f"f-event_properties-kv-{i}-mode": "path"}
        )
        data.update(
            {f"f-event_properties-kv-{i}-shown": "path", f"f-event_properties-kv-{i}-value": "$.x"}
        )
    html = body(staff_client.post(edit_url(track_calls), data))
    assert "Enter a key for this value." in html and "“dup” is used twice." in html


def test_odd_event_ids_in_the_query_string_are_ignored(staff_client, track_calls):
    for value in ("abc", "9" * 40, "-1"):
        assert staff_client.get(edit_url(track_calls) + f"?event={value}").status_code == 200
