"""The project's front door: health check, sign-in, the home page behind it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


def test_healthz_answers_200_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_home_redirects_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_login_page_renders_a_sign_in_form(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


@pytest.mark.django_db
def test_signing_in_reaches_the_home_page(client):
    get_user_model().objects.create_user("ada", password="correct horse battery", is_staff=True)
    response = client.post(
        "/login/", {"username": "ada", "password": "correct horse battery"}, follow=True
    )
    assert response.redirect_chain == [("/", 302)]
    assert b"signed in as <strong>ada</strong>" in response.content


def test_html_responses_carry_a_strict_content_security_policy(client):
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
