"""Destinations: the "Add Mixpanel" flow, settings with secrets never shown, the credential
check against the fake Mixpanel, banners, the enable toggle and resume."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.delivery.claim import pause
from mappings.models import Destination
from tests.fake_mixpanel import (
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_ID,
    DEFAULT_SA_SECRET,
    DEFAULT_SA_USERNAME,
    DEFAULT_TOKEN,
)

from .conftest import API_SECRET, SA_SECRET, TOKEN, XSS, XSS_ESCAPED, body

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {
        "name": "Mixpanel EU",
        "projectToken": "tok-eu",
        "apiRegion": "EU 🇪🇺",
        "strictMode": "1",
        "idMergeMode": "simplified",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# The list -------------------------------------------------------------------------------------


def test_the_list_shows_sources_region_mapping_count_and_status(staff_client, destination):
    pause(destination, "401: Invalid credentials")
    html = body(staff_client.get("/destinations/"))
    assert "Mixpanel prod" in html and "Web App" in html
    assert '<td data-label="Mappings">6</td>' in html
    assert "paused" in html and "enabled" in html
    assert API_SECRET not in html


# Add Mixpanel ---------------------------------------------------------------------------------


def test_the_add_form_follows_the_seeds_flow(staff_client, source):
    html = body(staff_client.get("/destinations/new"))
    positions = [
        html.index(text)
        for text in (
            "Web App",  # pick the source(s)
            'name="name"',
            'name="projectToken"',
            'name="apiRegion"',
            'name="serviceAccountUsername"',
            'name="apiSecret"',
            'name="strictMode"',
            'name="idMergeMode"',
            'name="enabled"',  # the enable toggle at the bottom
        )
    ]
    assert positions == sorted(positions)
    # The three residency values, labelled as Segment labels them.
    for value in ("US 🇺🇸", "EU 🇪🇺", "IN 🇮🇳"):
        assert f'<option value="{value}"' in html
    assert "cannot be changed once the project has data" in html  # ID merge help (§3.1)
    assert "silently lost" in html  # the region hint (seed FAQ)
    assert "api-eu.mixpanel.com" in html
    assert 'type="password"' in html


def test_every_input_has_a_label(staff_client, source, destination):
    import re

    for url in ("/destinations/new", f"/destinations/{destination.pk}/"):
        html = body(staff_client.get(url))
        ids = re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html
        )
        assert ids
        for input_id in ids:
            assert f'for="{input_id}"' in html, (url, input_id)


def test_saving_creates_the_destination_with_the_six_presets(staff_client, source):
    response = staff_client.post(
        "/destinations/new", form_data(sources=[source.pk], apiSecret="s3cret", enabled="on")
    )
    destination = Destination.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/destinations/{destination.pk}/mappings/"
    assert destination.enabled is True
    assert list(destination.sources.all()) == [source]
    assert destination.settings["apiRegion"] == "EU 🇪🇺"
    assert destination.secret_values() == {"apiSecret": "s3cret"}
    names = [m.name for m in destination.mappings.order_by("position")]
    assert names == [
        "Track Calls",
        "Order Completed Calls",
        "Page Calls",
        "Screen Calls",
        "Identify Calls",
        "Group Calls",
    ]
    html = body(staff_client.get(response["Location"]))
    assert "created with the six preset mappings" in html


def test_a_new_destination_is_off_unless_enabled(staff_client):
    staff_client.post("/destinations/new", form_data())
    assert Destination.objects.get().enabled is False


def test_validation_errors_are_shown_by_their_fields_and_the_typed_secret_is_not_echoed(
    staff_client,
):
    response = staff_client.post(
        "/destinations/new",
        form_data(projectToken="", serviceAccountUsername="robot", apiSecret="typed-sekrit-77"),
    )
    assert response.status_code == 422
    html = body(response)
    assert "Enter the project token." in html
    assert "Service Account Username and Service Account Secret must be set together." in html
    assert "Project ID is required (digits only) when a service account is set." in html
    assert 'aria-invalid="true"' in html
    assert "typed-sekrit-77" not in html
    assert Destination.objects.count() == 0


def test_a_taken_name_is_refused(staff_client, destination):
    response = staff_client.post("/destinations/new", form_data(name="Mixpanel prod"))
    assert "A destination with this name already exists." in body(response)


# Settings: secrets ----------------------------------------------------------------------------


def test_the_settings_page_never_renders_a_secret(staff_client, destination):
    destination.set_all_settings(
        {
            "projectToken": TOKEN,
            "apiSecret": API_SECRET,
            "serviceAccountUsername": "robot",
            "serviceAccountSecret": SA_SECRET,
            "projectId": "42",
        }
    )
    destination.save()
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert API_SECRET not in html and SA_SECRET not in html
    assert html.count("•••••• set") == 2
    assert "Remove the stored Secret Key" in html
    assert TOKEN in html  # the project token is public by design
    assert 'value="robot"' in html


def test_leaving_a_secret_blank_keeps_the_stored_one(staff_client, destination):
    response = staff_client.post(
        f"/destinations/{destination.pk}/", form_data(name="Mixpanel prod", projectToken=TOKEN)
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.secret_values() == {"apiSecret": API_SECRET}
    assert destination.settings["apiRegion"] == "EU 🇪🇺"


def test_typing_a_secret_replaces_it(staff_client, destination):
    staff_client.post(
        f"/destinations/{destination.pk}/",
        form_data(name="Mixpanel prod", projectToken=TOKEN, apiSecret="new-secret"),
    )
    destination.refresh_from_db()
    assert destination.secret_values() == {"apiSecret": "new-secret"}


def test_the_remove_checkbox_clears_the_secret(staff_client, destination):
    staff_client.post(
        f"/destinations/{destination.pk}/",
        form_data(name="Mixpanel prod", projectToken=TOKEN, apiSecret__remove="on"),
    )
    destination.refresh_from_db()
    assert destination.secret_values() == {}


def test_typing_and_removing_at_once_is_refused(staff_client, destination):
    response = staff_client.post(
        f"/destinations/{destination.pk}/",
        form_data(
            name="Mixpanel prod", projectToken=TOKEN, apiSecret="x-typed", apiSecret__remove="on"
        ),
    )
    assert response.status_code == 422
    assert "not both" in body(response)
    destination.refresh_from_db()
    assert destination.secret_values() == {"apiSecret": API_SECRET}


def test_a_failed_save_re_renders_without_the_stored_or_typed_secret(staff_client, destination):
    response = staff_client.post(
        f"/destinations/{destination.pk}/",
        form_data(name="", projectToken=TOKEN, serviceAccountSecret="typed-sa-secret"),
    )
    assert response.status_code == 422
    html = body(response)
    assert API_SECRET not in html and "typed-sa-secret" not in html


def test_stored_plain_region_codes_show_as_the_emoji_choice(staff_client, source):
    destination = create_destination("D", {"projectToken": "t", "apiRegion": "IN"})
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert '<option value="IN 🇮🇳" selected>' in html


# Banners --------------------------------------------------------------------------------------


def test_the_deprecated_secret_banner_shows_while_the_secret_authenticates_import(
    staff_client, destination
):
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert "Mixpanel retires it on 2027-03-03" in html
    destination.set_all_settings(
        {
            "projectToken": TOKEN,
            "apiSecret": API_SECRET,
            "serviceAccountUsername": "robot",
            "serviceAccountSecret": SA_SECRET,
            "projectId": "42",
        }
    )
    destination.save()
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert "The project secret authenticates /import" not in html


def test_a_paused_destination_shows_why_and_how_to_fix_it(staff_client, destination, no_redis):
    pause(destination, "invalid_credentials: Mixpanel answered 401 <b>Unauthorized</b>")
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert "Delivery is paused" in html
    assert "Mixpanel answered 401 &lt;b&gt;Unauthorized&lt;/b&gt;" in html
    assert "How to fix it:" in html
    response = staff_client.post(f"/destinations/{destination.pk}/resume")
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.paused_at is None and destination.pause_reason == ""
    assert no_redis == [destination.pk]
    assert "Delivery is paused" not in body(staff_client.get(f"/destinations/{destination.pk}/"))


def test_the_api_override_banner_names_the_deployment_host(staff_client, destination, settings):
    settings.SEGMIX_MIXPANEL_API_URL = "http://127.0.0.1:8765"
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert "API host overridden by deployment" in html and "http://127.0.0.1:8765" in html


# Enable toggle --------------------------------------------------------------------------------


def test_the_enable_toggle_is_at_the_bottom_and_swaps_itself(staff_client, destination, htmx):
    html = body(staff_client.get(f"/destinations/{destination.pk}/"))
    assert html.index('id="enable-toggle"') > html.index("Save settings")
    response = staff_client.post(
        f"/destinations/{destination.pk}/enabled", {"enabled": "0"}, **htmx
    )
    fragment = body(response)
    assert fragment.lstrip().startswith('<section class="card" id="enable-toggle"')
    assert "nothing is sent to Mixpanel" in fragment
    assert Destination.objects.get().enabled is False


def test_turning_a_paused_destination_on_does_not_resume_it(staff_client, destination):
    pause(destination, "401")
    staff_client.post(f"/destinations/{destination.pk}/enabled", {"enabled": "1"})
    destination.refresh_from_db()
    assert destination.paused_at is not None
    assert destination.updated_at <= destination.paused_at


def test_saving_new_settings_resumes_a_paused_destination(staff_client, destination):
    pause(destination, "401")
    staff_client.post(
        f"/destinations/{destination.pk}/",
        form_data(name="Mixpanel prod", projectToken=TOKEN, apiSecret="fixed"),
    )
    destination.refresh_from_db()
    assert destination.updated_at > destination.paused_at  # delivery.claim: not paused any more
    assert timezone.now() >= destination.updated_at


# Check credentials ----------------------------------------------------------------------------


def test_checking_a_valid_api_secret_against_mixpanel(staff_client, mp, htmx):
    response = staff_client.post(
        "/destinations/new/check",
        form_data(name="", projectToken=DEFAULT_TOKEN, apiSecret=DEFAULT_API_SECRET),
        **htmx,
    )
    html = body(response)
    assert response.status_code == 200
    assert "Credentials valid." in html
    assert "The API secret and project token are valid." in html
    assert "POST " + mp.url + "/api/app/validate-project-credentials/" in html
    assert DEFAULT_API_SECRET not in html
    assert Destination.objects.count() == 0  # checking never saves
    [request] = mp.requests("/api/app/validate-project-credentials/")
    assert request["method"] == "POST"


def test_a_rejected_secret_is_reported_with_the_secret_redacted(
    staff_client, destination, mp, htmx
):
    response = staff_client.post(
        f"/destinations/{destination.pk}/check",
        form_data(name="Mixpanel prod", projectToken=DEFAULT_TOKEN),  # blank: the stored secret
        **htmx,
    )
    html = body(response)
    assert "Credentials rejected." in html
    assert "Mixpanel rejected the credentials (HTTP 401)." in html
    assert API_SECRET not in html


def test_checking_a_service_account_confirms_project_access(staff_client, mp, htmx):
    response = staff_client.post(
        "/destinations/new/check",
        form_data(
            projectToken=DEFAULT_TOKEN,
            serviceAccountUsername=DEFAULT_SA_USERNAME,
            serviceAccountSecret=DEFAULT_SA_SECRET,
            projectId=DEFAULT_PROJECT_ID,
        ),
        **htmx,
    )
    html = body(response)
    assert f"can access project {DEFAULT_PROJECT_ID}" in html
    assert "Authorization: Basic ••••••" in html
    assert DEFAULT_SA_SECRET not in html


def test_token_only_settings_are_not_sent_and_the_page_says_why(staff_client, mp, htmx):
    response = staff_client.post("/destinations/new/check", form_data(projectToken="t"), **htmx)
    html = body(response)
    assert "Nothing to check." in html
    assert "Mixpanel has no way to check a project token without writing" in html
    assert mp.requests() == []


def test_an_unreachable_mixpanel_is_reported(staff_client, settings, htmx):
    settings.SEGMIX_MIXPANEL_API_URL = "http://127.0.0.1:9"
    settings.SEGMIX_MIXPANEL_TIMEOUT = 2.0
    response = staff_client.post(
        "/destinations/new/check", form_data(apiSecret="abc-secret-xyz"), **htmx
    )
    html = body(response)
    assert "Could not reach Mixpanel" in html
    assert "abc-secret-xyz" not in html


def test_invalid_settings_are_listed_instead_of_checked(staff_client, mp, htmx):
    response = staff_client.post(
        "/destinations/new/check", form_data(serviceAccountUsername="robot"), **htmx
    )
    html = body(response)
    assert "Fix the settings first" in html
    assert "must be set together" in html
    assert mp.requests() == []


def test_the_check_works_without_javascript_as_a_full_page(staff_client, destination, mp):
    response = staff_client.post(
        f"/destinations/{destination.pk}/check",
        form_data(name="Mixpanel prod", projectToken=DEFAULT_TOKEN),
    )
    html = body(response)
    assert "<html" in html and "Credentials rejected." in html
    assert API_SECRET not in html


# Escaping -------------------------------------------------------------------------------------


def test_a_destination_named_like_a_script_is_shown_as_text(staff_client, destination):
    Destination.objects.filter(pk=destination.pk).update(name=XSS)
    for url in (
        "/destinations/",
        f"/destinations/{destination.pk}/",
        f"/destinations/{destination.pk}/mappings/",
        f"/destinations/{destination.pk}/mappings/new",
        "/deliveries/",
        "/",
    ):
        content = staff_client.get(url).content
        assert XSS.encode() not in content, url
        assert XSS_ESCAPED in content, url
