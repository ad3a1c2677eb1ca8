"""Fixtures for delivery tests: a real database, and Mixpanel faked only by a local server."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from mappings.configuration import create_destination
from mappings.models import Delivery, Destination, Event, Source
from tests.fake_mixpanel import DEFAULT_API_SECRET, DEFAULT_TOKEN, FakeMixpanel

_ids = itertools.count(1)


@pytest.fixture
def mp(settings) -> Iterator[FakeMixpanel]:
    """A fresh fake Mixpanel that segmix reaches through ``SEGMIX_MIXPANEL_API_URL``."""
    with FakeMixpanel() as fake:
        settings.SEGMIX_MIXPANEL_API_URL = fake.url
        settings.SEGMIX_MIXPANEL_TIMEOUT = 5.0
        yield fake


@pytest.fixture
def source(db) -> Source:
    return Source.objects.create(name="Web App")


def make_destination(source: Source, name: str = "Mixpanel", **settings: Any) -> Destination:
    """An enabled destination with the six presets, authenticating with the fake's secret."""
    return create_destination(
        name,
        {"projectToken": DEFAULT_TOKEN, "apiSecret": DEFAULT_API_SECRET, **settings},
        sources=[source],
        enabled=True,
    )


@pytest.fixture
def destination(source) -> Destination:
    return make_destination(source)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def track(event: str = "Report Exported", user: str = "user-1", **properties: Any) -> dict:
    """A normalised Segment track call, timestamped now (Mixpanel refuses the far future)."""
    return {"type": "track", "event": event, "userId": user, "properties": properties}


def identify(user: str = "user-1", anonymous: str | None = "anon-1", **traits: Any) -> dict:
    message: dict[str, Any] = {"type": "identify", "userId": user, "traits": traits}
    if anonymous:
        message["anonymousId"] = anonymous
    return message


def purchase(order_id: str, *products: dict[str, Any], user: str = "user-1") -> dict:
    return track("Order Completed", user, order_id=order_id, revenue=10, products=list(products))


def store(
    source: Source,
    destination: Destination,
    message: dict[str, Any],
    *,
    received_at: datetime | None = None,
    status: str = Delivery.PENDING,
) -> Delivery:
    """Store ``message`` as ingest would (event + pending delivery) and return the delivery."""
    received_at = received_at or timezone.now() - timedelta(seconds=1)
    number = next(_ids)
    message = {
        "messageId": f"msg-{number}",
        "timestamp": iso(received_at),
        "receivedAt": iso(received_at),
        "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
        **message,
    }
    event = Event.objects.create(
        source=source,
        message_id=message["messageId"],
        dedup_hash=hashlib.sha256(message["messageId"].encode()).hexdigest(),
        type=message["type"],
        event_name=message.get("event", ""),
        user_id=message.get("userId", ""),
        anonymous_id=message.get("anonymousId", ""),
        received_at=received_at,
        message=message,
        raw=message,
    )
    return Delivery.objects.create(
        event=event, destination=destination, status=status, next_attempt_at=received_at
    )


def fresh(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery
