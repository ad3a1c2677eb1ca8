"""The credential check: Segment's validate call, or GET /me for a service account (§3.4)."""

from __future__ import annotations

import json

from mappings.destinations.mixpanel import credential_check
from tests.destinations.mixpanel.test_wire import (
    SA_SECRET,
    SA_USER,
    SECRET,
    TOKEN,
    UA,
    basic,
    token_only,
    with_secret,
    with_service_account,
)


def test_credential_check_with_an_api_secret_is_segments_validate_call():
    request = credential_check.build_credential_check(with_secret(api_region="EU"), None, UA)
    assert request.method == "POST"
    assert request.url == "https://mixpanel.com/api/app/validate-project-credentials/"
    assert request.headers == {
        "Content-Type": "text/plain;charset=UTF-8",
        "Accept": "application/json",
        "User-Agent": UA,
    }
    assert json.loads(request.body) == {"api_secret": SECRET, "project_token": TOKEN}
    assert request.decoded_body() == {"api_secret": "••••••", "project_token": TOKEN}


def test_credential_check_with_a_service_account_gets_me_with_basic_auth():
    request = credential_check.build_credential_check(
        with_service_account(), "http://127.0.0.1:9/", UA
    )
    assert (request.method, request.url, request.body) == (
        "GET",
        "http://127.0.0.1:9/api/app/me",
        b"",
    )
    assert request.headers["Authorization"] == basic(SA_USER, SA_SECRET)
    assert (
        request.masked_headers()["Authorization"] == f'Basic •••••• (service account "{SA_USER}")'
    )


def test_token_only_has_no_credential_check_and_says_why():
    assert credential_check.build_credential_check(token_only(), None, UA) is None
    result = credential_check.interpret_credential_check(None, token_only(), None, b"")
    assert result.ok is None and "Send test event" in result.message


def test_credential_check_results_redact_the_secret():
    settings = with_secret()
    request = credential_check.build_credential_check(settings, None, UA)
    body = json.dumps({"status": "ok", "echo": SECRET}).encode()
    result = credential_check.interpret_credential_check(request, settings, 200, body)
    assert result.ok is True and SECRET not in result.response_text
    rejected = credential_check.interpret_credential_check(request, settings, 401, f"bad {SECRET}")
    assert rejected.ok is False and "HTTP 401" in rejected.message
    assert SECRET not in rejected.response_text


def test_service_account_check_reports_project_access_best_effort():
    settings = with_service_account()
    request = credential_check.build_credential_check(settings, None, UA)
    me = {"results": {"projects": {"2218841": {"role": "admin"}}}}
    found = credential_check.interpret_credential_check(request, settings, 200, json.dumps(me))
    assert found.ok and found.project_access is True
    unknown = credential_check.interpret_credential_check(request, settings, 200, "{}")
    assert unknown.ok and unknown.project_access is None
    assert "could not confirm" in unknown.message
    down = credential_check.interpret_credential_check(
        request, settings, None, b"", error="connect timeout"
    )
    assert down.ok is None and "connect timeout" in down.message
