"""The official analytics-python client → gunicorn → PostgreSQL → Celery → the fake Mixpanel.

Issue 4's "Done when": every call type arrives in Mixpanel exactly as the mappings say, all of
it, once each.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from .pipeline import (
    INSERT_ID_NS,
    TOKEN,
    bodies,
    canonical,
    configure,
    event_count,
    expected_records,
    flush_client,
    received_events,
    received_updates,
    unique,
    wait_settled,
)

pytestmark = pytest.mark.slow

IP = "192.0.2.77"
BULK = 300
TRAITS = {"email": "mara@example.net", "firstName": "Mara", "lastName": "Quist", "plan": "team"}
# No preset handles alias; both modes get Segment's alias mapping (skipped in simplified mode).
ALIAS_MAPPING = {"name": "Alias Calls", "trigger": 'type = "alias"', "action": "alias"}
PRODUCTS = [
    {"product_id": "p-1", "sku": "MUG-1", "name": "Mug", "price": 10.5, "quantity": 1},
    {"product_id": "p-2", "sku": "TEE-2", "name": "T-shirt", "price": 15, "quantity": 2},
]


def send_every_kind(analytics, user: str, anon: str) -> dict[str, str]:
    """identify, track, page, screen, group, alias and Order Completed; their messageIds."""
    context = {"ip": IP}
    sent = {
        "identify": analytics.identify(user, TRAITS, context=context, anonymous_id=anon),
        "track": analytics.track(
            user, "Report Exported", {"format": "csv", "rows": 120}, context, anonymous_id=anon
        ),
        "page": analytics.page(
            user,
            name="Home",
            properties={"url": "https://app.example.net/"},
            context=context,
            anonymous_id=anon,
        ),
        "screen": analytics.screen(
            user,
            name="Settings",
            properties={"theme": "dark"},
            context=context,
            anonymous_id=anon,
        ),
        "group": analytics.group(
            user, "ws-12", {"name": "Northwind Ops", "seats": 40}, context, anonymous_id=anon
        ),
        "alias": analytics.alias(anon, user, context=context),
        "order": analytics.track(
            user,
            "Order Completed",
            {"order_id": "ord-501", "revenue": 40.5, "currency": "EUR", "products": PRODUCTS},
            context,
            anonymous_id=anon,
        ),
    }
    for kind, (queued, _message) in sent.items():
        assert queued, kind
    return {kind: message["messageId"] for kind, (_queued, message) in sent.items()}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sync_mode", [False, True], ids=["batched", "sync_mode"])
def test_every_call_type_reaches_mixpanel_exactly_once(e2e, segment, sync_mode):
    analytics, errors = segment
    setup = configure(e2e, unique("e2e-simplified"), mappings=[ALIAS_MAPPING])
    analytics.write_key = setup.write_key
    analytics.host = e2e.host
    analytics.sync_mode = sync_mode
    user, anon = unique("user"), str(uuid.uuid4())

    ids = send_every_kind(analytics, user, anon)
    bulk = 0 if sync_mode else BULK  # sync mode posts one request per message
    for n in range(bulk):
        analytics.track(f"{user}-{n % 7}", "Bulk Event", {"n": n}, anonymous_id=anon)
    if not sync_mode:
        flush_client(analytics.default_client)
    assert errors == []

    sent = len(ids) + bulk
    assert wait_settled(e2e, setup.destination_id, sent) == Counter(delivered=sent - 1, skipped=1)
    assert event_count(e2e, setup.source_id) == sent
    alias = e2e.sql(
        "SELECT d.status, d.outcome FROM mappings_delivery d JOIN mappings_event e "
        "ON e.id = d.event_id WHERE e.message_id = %s",
        [ids["alias"]],
    )[0]
    assert alias["status"] == "skipped"
    assert "alias ignored" in str(alias["outcome"])

    # Exactly what the mappings say, all of it, once each (raw view: no faults, no re-sends).
    expected = [record for _id, record in expected_records(e2e, setup)]
    assert canonical(received_events(e2e, "/import")) == canonical(bodies(expected, "import"))
    assert canonical(received_updates(e2e, "/engage")) == canonical(bodies(expected, "engage"))
    assert canonical(received_updates(e2e, "/groups")) == canonical(bodies(expected, "groups"))
    assert all(r["copies"] == 1 for r in e2e.mp.deduped())
    assert e2e.mp.requests("/track") == []  # simplified mode: the alias sends nothing
    assert e2e.mp.stats()["failed_records"] == 0

    # A few facts pinned literally, independent of the code that built the expectation.
    imported = received_events(e2e, "/import")
    names = Counter(r["event"] for r in imported)
    assert names == Counter(
        {
            "$identify": 1,
            "Report Exported": 1,
            "Viewed Home": 1,
            "Viewed Settings": 1,
            "Order Completed": 1,
            "Product Purchased": 2,
            **({"Bulk Event": bulk} if bulk else {}),
        }
    )
    by_id = {r["properties"]["$insert_id"]: r for r in imported}
    for kind, name in [("track", "Report Exported"), ("page", "Viewed Home"),
                       ("screen", "Viewed Settings"), ("order", "Order Completed"),
                       ("identify", "$identify")]:  # fmt: skip
        assert by_id[ids[kind]]["event"] == name  # a valid messageId is the $insert_id
    for index, product in enumerate(PRODUCTS):
        record = by_id[str(uuid.uuid5(INSERT_ID_NS, f"{index}{ids['order']}"))]
        assert record["event"] == "Product Purchased"
        assert record["properties"]["sku"] == product["sku"]
    assert all(
        r["properties"]["mp_lib"] == "Segment: analytics-python"
        for r in imported
        if r["event"] != "$identify"
    )
    identify = by_id[ids["identify"]]["properties"]
    assert identify["$user_id"] == user and identify["$device_id"] == anon
    assert received_updates(e2e, "/engage") == [
        {
            "$token": TOKEN,
            "$distinct_id": user,
            "$ip": IP,
            "$set": {
                "plan": "team",
                "$email": "mara@example.net",
                "$first_name": "Mara",
                "$last_name": "Quist",
                "$name": "Mara Quist",
            },
        }
    ]
    assert received_updates(e2e, "/groups") == [
        {
            "$token": TOKEN,
            "$group_key": "$group_id",
            "$group_id": "ws-12",
            "$set": {"seats": 40, "$name": "Northwind Ops"},
        }
    ]
    if bulk:  # batching across the client's requests: many events per Mixpanel request
        assert max(len(r["body"]) for r in e2e.mp.requests("/import")) >= 100
        assert len(e2e.mp.requests("/import")) < sent / 10


@pytest.mark.timeout(120)
def test_original_id_merge_sends_identify_and_alias_to_track(e2e, segment):
    analytics, errors = segment
    setup = configure(
        e2e,
        unique("e2e-original"),
        settings={"idMergeMode": "original"},
        mappings=[ALIAS_MAPPING],
    )
    analytics.write_key, analytics.host = setup.write_key, e2e.host
    user, anon = unique("user"), str(uuid.uuid4())

    analytics.identify(user, TRAITS, context={"ip": IP}, anonymous_id=anon)
    analytics.alias(anon, user)
    analytics.track(user, "Report Exported", {"format": "csv"}, anonymous_id=anon)
    flush_client(analytics.default_client)
    assert errors == []

    assert wait_settled(e2e, setup.destination_id, 3) == Counter(delivered=3)
    expected = [record for _id, record in expected_records(e2e, setup)]
    assert canonical(received_events(e2e, "/track")) == canonical(bodies(expected, "track"))
    assert canonical(received_events(e2e, "/import")) == canonical(bodies(expected, "import"))
    assert canonical(received_updates(e2e, "/engage")) == canonical(bodies(expected, "engage"))
    assert canonical(received_events(e2e, "/track")) == canonical(
        [
            {
                "event": "$identify",
                "properties": {"$identified_id": user, "$anon_id": anon, "token": TOKEN},
            },
            {
                "event": "$create_alias",
                "properties": {"distinct_id": anon, "alias": user, "token": TOKEN},
            },
        ]
    )
    assert [r["event"] for r in received_events(e2e, "/import")] == ["Report Exported"]
    # The profile update went out only after its $identify was accepted.
    requests = e2e.mp.requests()
    identify_at = next(
        r["seq"] for r in requests if r["path"] == "/track" and "$identify" in str(r["body"])
    )
    assert [r["seq"] > identify_at for r in requests if r["path"] == "/engage"] == [True]
