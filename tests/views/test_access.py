"""Every console endpoint: anonymous → login, non-staff → 403, no CSRF token → 403, and the
pages obey the CSP (no inline script, style or event handler)."""

from __future__ import annotations

import re

import pytest

from mappings.models import Destination, Source

pytestmark = pytest.mark.django_db


def urls(source: Source, destination: Destination) -> dict[str, list[tuple[str, dict]]]:
    d, s = destination.pk, source.pk
    m = destination.mappings.order_by("position").first().pk
    return {
        "GET": [
            ("/", {}),
            ("/sources/", {}),
            (f"/sources/{s}/", {}),
            (f"/sources/{s}/regenerate-key", {}),
            ("/destinations/", {}),
            ("/destinations/new", {}),
            (f"/destinations/{d}/", {}),
            (f"/destinations/{d}/mappings/", {}),
            (f"/destinations/{d}/mappings/new", {}),
            (f"/destinations/{d}/mappings/{m}/delete", {}),
            ("/debugger/", {}),
            ("/deliveries/", {}),
        ],
        "POST": [
            ("/sources/", {"name": "New"}),
            (f"/sources/{s}/rename", {"name": "Renamed"}),
            (f"/sources/{s}/enabled", {"enabled": "0"}),
            (f"/sources/{s}/regenerate-key", {}),
            ("/destinations/new", {"name": "D2", "projectToken": "t"}),
            ("/destinations/new/check", {"name": "D2", "projectToken": "t"}),
            (f"/destinations/{d}/", {"name": "D", "projectToken": "t"}),
            (f"/destinations/{d}/check", {"name": "D", "projectToken": "t"}),
            (f"/destinations/{d}/enabled", {"enabled": "0"}),
            (f"/destinations/{d}/resume", {}),
            (f"/destinations/{d}/mappings/new", {"action": "trackEvent"}),
            (f"/destinations/{d}/mappings/{m}/enabled", {"enabled": "0"}),
            (f"/destinations/{d}/mappings/{m}/rename", {"name": "R"}),
            (f"/destinations/{d}/mappings/{m}/duplicate", {}),
            (f"/destinations/{d}/mappings/{m}/move", {"direction": "down"}),
            (f"/destinations/{d}/mappings/{m}/delete", {}),
        ],
    }


def every_request(source, destination):
    for method, items in urls(source, destination).items():
        for url, data in items:
            yield method, url, data


def test_anonymous_users_are_sent_to_sign_in_everywhere(client, source, destination):
    for method, url, data in every_request(source, destination):
        response = client.get(url) if method == "GET" else client.post(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/login/?next="), (method, url)
    assert Source.objects.get().name == "Web App"  # nothing changed


def test_anonymous_htmx_requests_get_a_client_redirect_to_the_page_they_are_on(client, destination):
    response = client.post(
        f"/destinations/{destination.pk}/enabled",
        {"enabled": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/destinations/{destination.pk}/",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=%2Fdestinations%2F{destination.pk}%2F"


def test_signed_in_users_who_are_not_staff_get_a_403_page_that_says_why(
    user_client, source, destination
):
    for method, url, data in every_request(source, destination):
        response = user_client.get(url) if method == "GET" else user_client.post(url, data)
        assert response.status_code == 403, (method, url)
        assert "not a staff account" in response.content.decode(), (method, url)
    destination.refresh_from_db()
    assert destination.enabled is True and destination.mappings.count() == 6


def test_staff_users_reach_every_page(staff_client, source, destination):
    for url, _ in urls(source, destination)["GET"]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("max-age=0"), url


def test_state_changes_without_a_csrf_token_are_refused(csrf_client, source, destination):
    for url, data in urls(source, destination)["POST"]:
        response = csrf_client.post(url, data)
        assert response.status_code == 403, url
        response = csrf_client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 403, url
    assert Source.objects.get().name == "Web App"
    assert Destination.objects.get().enabled is True


def test_htmx_posts_with_the_token_from_the_body_header_are_accepted(csrf_client, destination):
    page = csrf_client.get(f"/destinations/{destination.pk}/")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    response = csrf_client.post(
        f"/destinations/{destination.pk}/enabled",
        {"enabled": "0"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert Destination.objects.get().enabled is False


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


def test_pages_have_no_inline_script_style_or_handlers_for_the_csp(
    staff_client, source, destination
):
    for url, _ in urls(source, destination)["GET"]:
        html = staff_client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_STYLE.search(html), url
        assert not INLINE_HANDLER.search(html), url
        assert "/static/segmix/htmx.min.js" in html, url
        assert "cdn" not in re.findall(r'<script[^>]*src="([^"]*)"', html)[0], url


def test_every_hx_get_keeps_an_href_and_every_hx_post_form_an_action(
    staff_client, source, destination
):
    for url, _ in urls(source, destination)["GET"]:
        html = staff_client.get(url).content.decode()
        for tag in re.findall(r"<[a-z]+[^>]*\bhx-get=[^>]*>", html):
            assert "href=" in tag, (url, tag)
        for tag in re.findall(r"<form[^>]*\bhx-post=[^>]*>", html):
            assert 'action="' in tag and 'method="post"' in tag, (url, tag)
