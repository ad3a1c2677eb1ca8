"""``manage.py preview``: the exact requests for each event, no network, no writes."""

from __future__ import annotations

import json
import socket

import pytest
from django.core.management import CommandError, call_command

from mappings.configuration import create_destination
from mappings.models import MappingVersion

pytestmark = pytest.mark.django_db

# The destination spec's worked example (§7.6).
REPORT_EXPORTED = {
    "type": "track",
    "event": "Report Exported",
    "userId": "acct-3391",
    "anonymousId": "c0ffee00-1234-4abc-9def-0123456789ab",
    "messageId": "ajs-next-5f0e7d6c5b4a39281706f5e4d3c2b1a0",
    "timestamp": "2025-02-10T14:03:27.512+01:00",
    "properties": {"format": "csv", "rows": 1200, "id": "rep-88"},
    "context": {
        "ip": "203.0.113.45",
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "locale": "de-DE",
        "timezone": "Europe/Berlin",
        "groupId": "ws-12",
        "page": {
            "url": "https://app.example.io/reports/88",
            "referrer": "https://app.example.io/home",
        },
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "campaign": {"source": "mail", "medium": "email", "name": "feb-digest"},
        "screen": {"width": 2560, "height": 1440, "density": 1},
    },
}
EXPECTED_RECORD = {
    "event": "Report Exported",
    "properties": {
        "time": 1739192607512,
        "ip": "203.0.113.45",
        "id": "acct-3391",
        "$anon_id": "c0ffee00-1234-4abc-9def-0123456789ab",
        "distinct_id": "acct-3391",
        "$browser": "Firefox",
        "$browser_version": "128.0",
        "$current_url": "https://app.example.io/reports/88",
        "$device_id": "c0ffee00-1234-4abc-9def-0123456789ab",
        "$group_id": "ws-12",
        "$identified_id": "acct-3391",
        "$insert_id": "b17abe49-4ea7-51c8-a105-3fdbbca3ec91",
        "$lib_version": "next-1.70.0",
        "$locale": "de-DE",
        "$referrer": "https://app.example.io/home",
        "$screen_height": 1440,
        "$screen_width": 2560,
        "$screen_density": 1,
        "$source": "segment",
        "$user_id": "acct-3391",
        "mp_lib": "Segment: analytics.js",
        "segment_source_name": "Web App",
        "utm_campaign": "feb-digest",
        "utm_medium": "email",
        "utm_source": "mail",
        "timezone": "Europe/Berlin",
        "event_original_name": "Report Exported",
        "format": "csv",
        "rows": 1200,
    },
}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("preview must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def destination():
    return create_destination(
        "Mixpanel EU",
        {
            "projectToken": "tok-eu",
            "serviceAccountUsername": "segmix-bot.2f41c7.mp-service-account",
            "serviceAccountSecret": "sa-secret-value",
            "projectId": "2218841",
            "apiRegion": "EU 🇪🇺",
            "sourceName": "Web App",
        },
    )


def run_preview(capsys, tmp_path, *events, name="Mixpanel EU") -> list[dict]:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    call_command("preview", "--destination", name, str(path))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_it_prints_the_exact_import_request_for_a_track_event(
    destination, capsys, tmp_path, no_network
):
    versions = MappingVersion.objects.count()
    [document] = run_preview(capsys, tmp_path, REPORT_EXPORTED)
    assert document["messageId"] == REPORT_EXPORTED["messageId"]
    by_name = {m["name"]: m for m in document["mappings"]}
    track = by_name["Track Calls"]
    assert track["matched"] is True
    [request] = track["requests"]
    assert request["method"] == "POST"
    assert request["url"] == "https://api-eu.mixpanel.com/import?strict=1&project_id=2218841"
    assert request["format"] == "json"
    assert request["headers"]["Authorization"] == (
        'Basic •••••• (service account "segmix-bot.2f41c7.mp-service-account")'
    )
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["body"] == [EXPECTED_RECORD]
    assert any("P19" in warning for warning in track["warnings"])
    assert "sa-secret-value" not in json.dumps(document)
    assert MappingVersion.objects.count() == versions


def test_it_explains_why_other_mappings_did_not_match(destination, capsys, tmp_path, no_network):
    [document] = run_preview(capsys, tmp_path, REPORT_EXPORTED)
    by_name = {m["name"]: m for m in document["mappings"]}
    order = by_name["Order Completed Calls"]
    assert order["matched"] is False
    assert order["requests"] == []
    assert 'event = "Order Completed"' in order["why"]
    assert by_name["Identify Calls"]["why"] == 'not matched: type = "identify" is false'


def test_the_deployment_api_url_override_applies(destination, capsys, tmp_path, settings):
    settings.SEGMIX_MIXPANEL_API_URL = "http://127.0.0.1:8765"
    [document] = run_preview(capsys, tmp_path, REPORT_EXPORTED)
    track = next(m for m in document["mappings"] if m["name"] == "Track Calls")
    assert track["requests"][0]["url"] == "http://127.0.0.1:8765/import?strict=1&project_id=2218841"


def test_identify_in_simplified_mode_sends_identify_and_profile(destination, capsys, tmp_path):
    identify = {
        "type": "identify",
        "userId": "mara-5512",
        "anonymousId": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
        "messageId": "idf-2231",
        "timestamp": "2025-03-04T08:15:00Z",
        "context": {"ip": "192.0.2.77"},
        "traits": {
            "email": "mara@example.net",
            "firstName": "Mara",
            "lastName": "Quist",
            "plan": "team",
            "createdAt": "2023-11-02",
        },
    }
    [document] = run_preview(capsys, tmp_path, identify)
    mapping = next(m for m in document["mappings"] if m["name"] == "Identify Calls")
    urls_and_bodies = [(r["url"], r["body"]) for r in mapping["requests"]]
    assert (
        "https://api-eu.mixpanel.com/import?strict=1&project_id=2218841",
        [
            {
                "event": "$identify",
                "properties": {
                    "time": 1741076100000,
                    "distinct_id": "mara-5512",
                    "$user_id": "mara-5512",
                    "$device_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09",
                    "$insert_id": "idf-2231",
                    "ip": "192.0.2.77",
                    "segment_source_name": "Web App",
                },
            }
        ],
    ) in urls_and_bodies
    assert (
        "https://api-eu.mixpanel.com/engage?verbose=1",
        [
            {
                "$token": "tok-eu",
                "$distinct_id": "mara-5512",
                "$ip": "192.0.2.77",
                "$set": {
                    "plan": "team",
                    "$created": "2023-11-02",
                    "$email": "mara@example.net",
                    "$first_name": "Mara",
                    "$last_name": "Quist",
                    "$name": "Mara Quist",
                },
            }
        ],
    ) in urls_and_bodies


def test_it_reads_events_from_stdin_and_reports_bad_lines(destination, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"type": "page", "name": "Home", "userId": "u1"}\nnope\n'))
    call_command("preview", "--destination", "Mixpanel EU")
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    page = next(m for m in first["mappings"] if m["name"] == "Page Calls")
    assert page["requests"][0]["body"][0]["event"] == "Viewed Home"
    assert second["line"] == 2 and second["error"].startswith("invalid JSON")


def test_an_unknown_destination_is_a_clear_error(destination):
    with pytest.raises(CommandError, match="no destination named 'Nope' \\(existing: Mixpanel EU\\)"):
        call_command("preview", "--destination", "Nope")
