"""Realistic sample Segment messages per event type, for the Event Content "Generate sample".

Shaped like what ingest stores (normalised: ``messageId``, ``timestamp``, ``receivedAt``,
``context.library``), so a sample previews like a real event. Times are "now", because Mixpanel
refuses events far in the past or future and the preview runs the same pre-flight checks.

>>> sample("page", now="2026-01-02T03:04:05.000Z")["name"]
'Pricing'
>>> sorted(SAMPLE_TYPES)
['alias', 'group', 'identify', 'page', 'screen', 'track']
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, Final

_WEB_CONTEXT: Final = {
    "ip": "203.0.113.7",
    "locale": "en-US",
    "library": {"name": "analytics.js", "version": "next-1.70.0"},
    "userAgent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    ),
    "page": {
        "path": "/pricing",
        "referrer": "https://www.google.com/",
        "search": "?utm_source=newsletter",
        "title": "Pricing · Acme",
        "url": "https://acme.example/pricing?utm_source=newsletter",
    },
    "campaign": {"source": "newsletter", "medium": "email", "name": "spring-launch"},
    "timezone": "Europe/Berlin",
}
_MOBILE_CONTEXT: Final = {
    "ip": "198.51.100.23",
    "locale": "en-GB",
    "library": {"name": "analytics-android", "version": "4.11.3"},
    "app": {"name": "Acme", "version": "5.2.0", "build": "5200", "namespace": "com.acme.app"},
    "device": {
        "id": "b1a7c3e2-54f0-4c7e-9d1a-2f3e4d5c6b7a",
        "manufacturer": "Google",
        "model": "Pixel 8",
        "type": "android",
        "advertisingId": "38400000-8cf0-11bd-b23e-10b96e40000d",
        "adTrackingEnabled": False,
    },
    "os": {"name": "Android", "version": "14"},
    "network": {"wifi": True, "cellular": False, "carrier": "Vodafone"},
    "screen": {"width": 1080, "height": 2400, "density": 2.625},
    "timezone": "Europe/London",
}

_SAMPLES: Final[dict[str, dict[str, Any]]] = {
    "track": {
        "type": "track",
        "event": "Song Played",
        "userId": "user-4821",
        "anonymousId": "a1f3c2d4-6b7e-4f80-9a1b-2c3d4e5f6a7b",
        "properties": {
            "platform": "android",
            "song_id": "sng-90412",
            "title": "Blue Monday",
            "duration_seconds": 447,
            "shuffle": True,
        },
        "context": _MOBILE_CONTEXT,
    },
    "page": {
        "type": "page",
        "name": "Pricing",
        "category": "Marketing",
        "anonymousId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "properties": {
            "path": "/pricing",
            "referrer": "https://www.google.com/",
            "title": "Pricing · Acme",
            "url": "https://acme.example/pricing?utm_source=newsletter",
        },
        "context": _WEB_CONTEXT,
    },
    "screen": {
        "type": "screen",
        "name": "Checkout",
        "userId": "user-4821",
        "anonymousId": "a1f3c2d4-6b7e-4f80-9a1b-2c3d4e5f6a7b",
        "properties": {"step": 2, "cart_value": 59.9},
        "context": _MOBILE_CONTEXT,
    },
    "identify": {
        "type": "identify",
        "userId": "user-4821",
        "anonymousId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "traits": {
            "email": "ada@acme.example",
            "name": "Ada Lovelace",
            "plan": "pro",
            "createdAt": "2024-03-14T09:26:53.000Z",
            "seats": 12,
        },
        "context": _WEB_CONTEXT,
    },
    "group": {
        "type": "group",
        "userId": "user-4821",
        "groupId": "ws-12",
        "traits": {"name": "Northwind Ops", "plan": "enterprise", "seats": 40},
        "context": _WEB_CONTEXT,
    },
    "alias": {
        "type": "alias",
        "userId": "user-4821",
        "previousId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "context": _WEB_CONTEXT,
    },
}

SAMPLE_TYPES: Final = tuple(_SAMPLES)
# The sample that suits each action best (what the editor starts with).
ACTION_SAMPLES: Final = {
    "trackEvent": "track",
    "trackPurchase": "track",
    "incrementProperties": "track",
    "identifyUser": "identify",
    "groupIdentifyUser": "group",
    "alias": "alias",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample(event_type: str, *, now: str | None = None, action: str | None = None) -> dict[str, Any]:
    """A fresh sample message of ``event_type`` (``track`` when unknown), timestamped ``now``.

    For ``trackPurchase``/``incrementProperties`` the track sample is an order or carries an
    ``increment`` object, so those actions have something to send.
    """
    message = copy.deepcopy(_SAMPLES.get(event_type, _SAMPLES["track"]))
    stamp = now or _now()
    if message["type"] == "track" and action == "trackPurchase":
        message["event"] = "Order Completed"
        message["properties"] = {
            "order_id": "ord-501",
            "revenue": 59.9,
            "currency": "EUR",
            "products": [
                {
                    "product_id": "p-1",
                    "sku": "TS-BLK-M",
                    "name": "T-shirt",
                    "price": 19.95,
                    "quantity": 2,
                },
                {"product_id": "p-2", "sku": "MUG-01", "name": "Mug", "price": 20, "quantity": 1},
            ],
        }
    elif message["type"] == "track" and action == "incrementProperties":
        message["properties"]["increment"] = {"songs_played": 1}
    digits = "".join(ch for ch in stamp if ch.isdigit())[:17]
    message["messageId"] = f"sample-{message['type']}-{digits}"
    message["timestamp"] = message["receivedAt"] = stamp
    return message
