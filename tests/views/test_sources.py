"""Sources: list, create, rename, enable/disable, write key and regenerate, Connect your app."""

from __future__ import annotations

import pytest

from mappings.models import Source

from .conftest import XSS, XSS_ESCAPED, body

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_source_with_its_key_prefix_and_status(staff_client, source):
    Source.objects.create(name="Backend", enabled=False)
    html = body(staff_client.get("/sources/"))
    assert "Web App" in html and "Backend" in html
    assert "wk_web…" in html
    assert "disabled" in html
    assert 'aria-current="page">Sources' in html


def test_creating_a_source_opens_its_page_with_a_fresh_write_key(staff_client):
    response = staff_client.post("/sources/", {"name": "iOS app"})
    source = Source.objects.get(name="iOS app")
    assert response.status_code == 302
    assert response["Location"] == f"/sources/{source.pk}/"
    html = body(staff_client.get(response["Location"]))
    assert len(source.write_key) >= 32
    assert source.write_key in html
    assert "created" in html


def test_a_duplicate_name_is_refused_with_a_message_in_the_htmx_fragment(
    staff_client, source, htmx
):
    response = staff_client.post("/sources/", {"name": "Web App"}, **htmx)
    assert response.status_code == 422
    html = body(response)
    assert "A source with this name already exists." in html
    assert html.lstrip().startswith('<section class="card" id="create-source"')
    assert Source.objects.count() == 1


def test_the_detail_page_shows_the_write_key_with_a_copy_button(staff_client, source):
    html = body(staff_client.get(f"/sources/{source.pk}/"))
    assert '<code id="write-key" class="key">wk_web_0123456789abcdef</code>' in html
    assert 'data-copy="write-key"' in html


def test_connect_your_app_points_every_library_at_this_host(staff_client, source, settings):
    settings.ALLOWED_HOSTS = ["segmix.example.com"]
    html = body(staff_client.get(f"/sources/{source.pk}/", HTTP_HOST="segmix.example.com"))
    # analytics-next: settings from segmix (cdnURL) and events to segmix (apiHost).
    assert "cdnURL: &quot;http://segmix.example.com&quot;" in html
    assert "apiHost: &quot;segmix.example.com/v1&quot;" in html
    assert "analytics._cdn = &quot;http://segmix.example.com&quot;" in html
    # analytics-python and analytics-node.
    assert "analytics.write_key = &quot;wk_web_0123456789abcdef&quot;" in html
    assert "analytics.host = &quot;http://segmix.example.com&quot;" in html
    assert (
        "new Analytics({ writeKey: &quot;wk_web_0123456789abcdef&quot;, "
        "host: &quot;http://segmix.example.com&quot; })"
    ) in html


def test_https_requests_get_https_snippets(staff_client, source):
    html = body(staff_client.get(f"/sources/{source.pk}/", secure=True))
    assert "analytics.host = &quot;https://testserver&quot;" in html
    assert "protocol: &quot;https&quot;" in html


def test_the_autocapture_guidance_carries_the_seeds_warning_and_both_merge_options(
    staff_client, source
):
    html = body(staff_client.get(f"/sources/{source.pk}/"))
    assert "Autocapture with Segment" in html
    assert "does not recommend implementing Autocapture with Segment" in html
    assert "identity-management issues" in html
    assert "comment out the method you are not using" in html
    assert "mixpanel.init(&quot;YOUR_MIXPANEL_PROJECT_TOKEN&quot;" in html
    assert "autocapture: true" in html
    assert "addSourceMiddleware" in html
    assert "analytics.track(&quot;app loaded&quot;)" in html
    # Simplified (the default) active, Original commented out.
    assert "    mixpanel.register({ $device_id: anonymousId, distinct_id: &quot;$device:" in html
    assert (
        "    // mixpanel.register({ $device_id: anonymousId, distinct_id: anonymousId });" in html
    )


def test_the_autocapture_snippet_uses_a_connected_destinations_token_and_merge_mode(
    staff_client, source
):
    from mappings.configuration import create_destination

    create_destination(
        "MP", {"projectToken": "tok-123", "idMergeMode": "original"}, sources=[source]
    )
    html = body(staff_client.get(f"/sources/{source.pk}/"))
    assert "mixpanel.init(&quot;tok-123&quot;" in html
    assert "    mixpanel.register({ $device_id: anonymousId, distinct_id: anonymousId });" in html
    assert "// mixpanel.register({ $device_id: anonymousId, distinct_id: &quot;$device:" in html
    assert "ID Merge Mode: original" in html


def test_renaming_with_htmx_swaps_the_header(staff_client, source, htmx):
    response = staff_client.post(f"/sources/{source.pk}/rename", {"name": "Website"}, **htmx)
    assert response.status_code == 200
    html = body(response)
    assert html.lstrip().startswith('<div id="source-identity"')
    assert "<h1>Website</h1>" in html
    assert "Source renamed to Website." in html
    assert Source.objects.get().name == "Website"


def test_renaming_without_javascript_redirects_back(staff_client, source):
    response = staff_client.post(f"/sources/{source.pk}/rename", {"name": "Website"})
    assert response.status_code == 302
    assert response["Location"] == f"/sources/{source.pk}/"


def test_renaming_to_a_taken_name_keeps_the_old_name(staff_client, source, htmx):
    Source.objects.create(name="Backend")
    response = staff_client.post(f"/sources/{source.pk}/rename", {"name": "Backend"}, **htmx)
    assert response.status_code == 422
    html = body(response)
    assert "<h1>Web App</h1>" in html
    assert "A source with this name already exists." in html
    assert Source.objects.get(pk=source.pk).name == "Web App"


def test_disabling_with_htmx_swaps_the_status_panel(staff_client, source, htmx):
    response = staff_client.post(f"/sources/{source.pk}/enabled", {"enabled": "0"}, **htmx)
    html = body(response)
    assert html.lstrip().startswith('<section class="card" id="source-status"')
    assert "segmix refuses events sent with its write key" in html
    assert 'name="enabled" value="1"' in html
    assert Source.objects.get().enabled is False
    # The same request again is idempotent: still disabled.
    staff_client.post(f"/sources/{source.pk}/enabled", {"enabled": "0"}, **htmx)
    assert Source.objects.get().enabled is False


def test_a_bad_toggle_value_is_a_400(staff_client, source):
    response = staff_client.post(f"/sources/{source.pk}/enabled", {"enabled": "maybe"})
    assert response.status_code == 400


def test_regenerating_asks_for_confirmation_first(staff_client, source):
    response = staff_client.get(f"/sources/{source.pk}/regenerate-key")
    html = body(response)
    assert "Regenerate the write key of “Web App”?" in html
    assert "stops working" in html
    assert Source.objects.get().write_key == "wk_web_0123456789abcdef"


def test_regenerating_replaces_the_write_key(staff_client, source):
    response = staff_client.post(f"/sources/{source.pk}/regenerate-key")
    assert response.status_code == 302
    new_key = Source.objects.get().write_key
    assert new_key != "wk_web_0123456789abcdef"
    html = body(staff_client.get(f"/sources/{source.pk}/"))
    assert new_key in html and "wk_web_0123456789abcdef" not in html


def test_an_unknown_source_is_a_404(staff_client, db):
    assert staff_client.get("/sources/999/").status_code == 404


def test_a_source_named_like_a_script_is_shown_as_text(staff_client, source):
    source.name = XSS
    source.save()
    for url in ("/sources/", f"/sources/{source.pk}/", f"/sources/{source.pk}/regenerate-key", "/"):
        content = staff_client.get(url).content
        assert XSS.encode() not in content, url
        assert XSS_ESCAPED in content, url


def test_a_write_key_with_markup_cannot_break_out_of_the_snippets(staff_client, source):
    source.write_key = 'wk_</script><img src=x onerror=alert(1)>"'
    source.save()
    content = staff_client.get(f"/sources/{source.pk}/").content
    assert b"<img src=x" not in content
    assert b"</script><img" not in content
