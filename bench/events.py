"""A realistic mixed Segment event stream for benchmarks (deterministic)."""

from __future__ import annotations

import random
import uuid

USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
]
TRACK_NAMES = ["Report Exported", "Button Clicked", "Signed Up", "Plan Upgraded", "Search"]


def _context(rng: random.Random, web: bool) -> dict:
    context = {
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "library": {"name": "analytics.js" if web else "analytics-ios", "version": "next-1.70.0"},
        "locale": "en-US",
        "timezone": "Europe/Berlin",
        "campaign": {"source": "mail", "medium": "email", "name": "nov-digest"},
    }
    if web:
        context["page"] = {
            "url": f"https://app.example.io/reports/{rng.randint(1, 999)}",
            "referrer": "https://app.example.io/home",
            "path": "/reports",
            "title": "Reports",
        }
        context["userAgent"] = rng.choice(USER_AGENTS)
        context["screen"] = {"width": 2560, "height": 1440, "density": 2}
    else:
        context["app"] = {"name": "Example", "version": "4.2.0", "build": "420", "namespace": "io.example"}
        context["device"] = {"id": str(uuid.UUID(int=rng.getrandbits(128))), "manufacturer": "Apple",
                             "model": "iPhone15,3", "type": "ios", "adTrackingEnabled": False}
        context["os"] = {"name": "iOS", "version": "17.2"}
        context["network"] = {"wifi": True, "cellular": False, "carrier": "T-Mobile"}
    return context


def make_events(count: int, seed: int = 7) -> list[dict]:
    """``count`` events: 55% track, 5% Order Completed, 15% page, 5% screen, 12% identify, 8% group."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        roll = rng.random()
        web = rng.random() < 0.7
        base = {
            "messageId": f"ajs-next-{uuid.UUID(int=rng.getrandbits(128)).hex}",
            "anonymousId": str(uuid.UUID(int=rng.getrandbits(128))),
            "userId": f"user-{rng.randint(1, 50000)}" if rng.random() < 0.8 else None,
            "timestamp": f"2026-11-28T12:{i // 60 % 60:02d}:{i % 60:02d}.512Z",
            "receivedAt": f"2026-11-28T12:{i // 60 % 60:02d}:{i % 60:02d}.600Z",
            "context": _context(rng, web),
            "integrations": {},
        }
        if base["userId"] is None:
            del base["userId"]
        if roll < 0.55:
            event = {**base, "type": "track", "event": rng.choice(TRACK_NAMES),
                     "properties": {"format": "csv", "rows": rng.randint(1, 5000), "plan": "team",
                                    "tags": ["a", "b"], "nested": {"k": 1}}}
        elif roll < 0.60:
            event = {**base, "type": "track", "event": "Order Completed",
                     "properties": {"order_id": f"SO-{i}", "revenue": 42.5, "currency": "EUR",
                                    "products": [{"product_id": "p-1", "name": "Mug", "price": "12.50",
                                                  "quantity": 2},
                                                 {"sku": "TS-9", "name": "Tee", "price": 17.5,
                                                  "quantity": 1}]}}
        elif roll < 0.75:
            event = {**base, "type": "page", "name": "Reports", "properties": {"path": "/reports"}}
        elif roll < 0.80:
            event = {**base, "type": "screen", "name": "Checkout", "properties": {}}
        elif roll < 0.92:
            event = {**base, "type": "identify",
                     "traits": {"email": "ada@example.org", "firstName": "Ada", "lastName": "L",
                                "plan": "team", "createdAt": "2023-11-02"}}
        else:
            event = {**base, "type": "group", "groupId": f"ws-{rng.randint(1, 900)}",
                     "traits": {"name": "Northwind", "seats": 40}}
        events.append(event)
    return events
