"""Shared by the editor and tester view tests: a known event, URLs, and form round trips."""

from __future__ import annotations

from django.utils import timezone

from mappings.models import Destination, Event, Mapping
from tests.views.conftest import body
from tests.views.html_forms import form_data

EVENT = {
    "type": "track",
    "event": "Song Played",
    "userId": "user-7",
    "messageId": "msg-0001",
    "timestamp": "2026-03-01T10:00:00.000Z",
    "receivedAt": "2026-03-01T10:00:01.000Z",
    "properties": {"platform": "android", "plan": "pro"},
    "context": {"ip": "203.0.113.9", "library": {"name": "analytics.js", "version": "1"}},
}


def edit_url(mapping: Mapping, suffix: str = "") -> str:
    return f"/destinations/{mapping.destination_id}/mappings/{mapping.pk}/edit{suffix}"


def new_track_mapping(client, destination: Destination) -> Mapping:
    """A fresh "Track Event" mapping, as "New Mapping" makes it (trigger ``type = "track"``)."""
    client.post(f"/destinations/{destination.pk}/mappings/new", {"action": "trackEvent"})
    return destination.mappings.get(name="Track Event")


def page_data(client, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    return form_data(body(response))


def post_page(client, url: str, data: dict) -> dict[str, str]:
    """A plain (no-JavaScript) form post that answers with the whole editor page."""
    response = client.post(url, data)
    assert response.status_code == 200, body(response)[:500]
    return form_data(body(response))


def store_event(source, message: dict, seconds_ago: int) -> Event:
    received = timezone.now() - timezone.timedelta(seconds=seconds_ago)
    return Event.objects.create(
        source=source,
        message_id=message["messageId"],
        dedup_hash=message["messageId"],
        type=message["type"],
        event_name=message.get("event", ""),
        received_at=received,
        message=message,
        raw=message,
    )
