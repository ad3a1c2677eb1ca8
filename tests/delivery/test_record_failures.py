"""Per-record outcomes: strict-mode partial success (§14.4) and ``/engage`` ``status: 0`` (§14.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mappings import delivery
from mappings.configuration import save_mapping
from mappings.destinations.mixpanel.actions import default_mapping
from mappings.models import Mapping, MixpanelRequest
from tests.delivery.conftest import fresh, identify, purchase, store, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def products_with_tags(destination):
    """Let products carry a ``tags`` list (Mixpanel refuses lists of 255 items or more)."""
    mapping = destination.mappings.get(name="Order Completed Calls")
    products = mapping.mapping["products"]["@arrayPath"][1]
    products["tags"] = {"@path": "tags"}
    save_mapping(mapping)


def test_a_rejected_product_record_makes_its_event_partially_delivered(
    mp, source, destination, products_with_tags
):
    before = store(source, destination, track("Before"))
    order = store(
        source,
        destination,
        purchase(
            "o-1",
            {"product_id": "ok", "price": 5},
            {"product_id": "bad", "price": 7, "tags": ["t"] * 300},
        ),
    )
    after = store(source, destination, purchase("o-2", {"product_id": "fine", "price": 1}))

    delivery.flush(destination)

    purchases = MixpanelRequest.objects.get(mapping__name="Order Completed Calls")
    assert (purchases.response_status, purchases.verdict) == (400, "partial")
    # The failure is attributed to the record at its index, not to the Segment event at it.
    assert [m[:4] for m in purchases.manifest] == [
        [order.id, "order", order.event.message_id, "delivered"],
        [order.id, "product[0]", "0" + order.event.message_id, "delivered"],
        [order.id, "product[1]", "1" + order.event.message_id, "failed"],
        [after.id, "order", after.event.message_id, "delivered"],
        [after.id, "product[0]", "0" + after.event.message_id, "delivered"],
    ]
    assert purchases.manifest[2][4] == "properties.tags"
    order = fresh(order)
    assert order.status == "partially_delivered" and order.pending_records == []
    assert order.reason.startswith("product[1]: properties.tags: properties.tags is invalid")
    assert (fresh(before).status, fresh(after).status) == ("delivered", "delivered")
    accepted = [(r["event"], r["properties"].get("product_id")) for r in mp.records()]
    assert accepted == [
        ("Before", None),
        ("Order Completed", None),
        ("Product Purchased", "ok"),
        ("Order Completed", None),
        ("Product Purchased", "fine"),
    ]
    # Nothing that succeeded is sent again, and the failed record is not retried.
    assert delivery.flush(destination, now=timezone.now() + timedelta(hours=1)).claimed == 0
    assert len(mp.requests()) == 2


def test_a_400_without_failed_records_fails_every_record_of_the_request(mp, source, destination):
    deliveries = [store(source, destination, track(f"E{n}")) for n in range(2)]
    mp.script("/import", status=400, body={"code": 400, "error": "unable to parse body"})

    delivery.flush(destination)

    for d in deliveries:
        d = fresh(d)
        assert (d.status, d.reason) == ("failed", "HTTP 400: unable to parse body")
    request = MixpanelRequest.objects.get()
    assert request.verdict == "failed" and "a bug on our side" in request.message


@pytest.fixture
def increments(destination):
    # Position 0: its /engage request goes before Identify Calls' one.
    return save_mapping(
        Mapping(
            destination=destination,
            name="Increments",
            trigger='type = "track" and event = "Played"',
            action="incrementProperties",
            mapping=default_mapping("incrementProperties"),
            position=0,
        )
    )


def test_engage_status_0_resends_set_records_alone_once_and_never_resends_add(
    mp, source, destination, increments
):
    played = [
        store(source, destination, track("Played", user, increment={"games": 1}))
        for user in ("user-1", "user-2")
    ]
    profiles = [
        store(source, destination, identify("user-1", plan="pro")),
        store(source, destination, identify("user-2", anonymous="anon-2", plan="free")),
    ]
    # Mixpanel answers 0 to both batches of two, then accepts each $set sent alone.
    for _ in range(2):
        mp.script("/engage", status=200, body={"status": 0, "error": "some update was invalid"})

    delivery.flush(destination)

    engage = MixpanelRequest.objects.filter(endpoint="engage").order_by("id")
    assert [(r.mapping.name, r.verdict, r.record_count) for r in engage] == [
        ("Increments", "record_failure", 2),
        ("Identify Calls", "record_failure", 2),
        ("Identify Calls", "delivered", 1),
        ("Identify Calls", "delivered", 1),
    ]
    assert [m[3] for m in engage[0].manifest] == ["failed", "failed"]
    assert [m[3] for m in engage[1].manifest] == ["resend_alone", "resend_alone"]
    assert [engage[2].manifest[0][0], engage[3].manifest[0][0]] == [p.id for p in profiles]
    assert [fresh(p).status for p in profiles] == ["delivered", "delivered"]
    for d in played:
        d = fresh(d)
        # The event's /import record was delivered; its $add failed for good, never resent.
        assert (d.status, d.reason) == (
            "partially_delivered",
            "increment: some update was invalid",
        )
    assert mp.add_totals() == {}
    assert mp.profile("user-1") == {"plan": "pro"} and mp.profile("user-2") == {"plan": "free"}
    assert delivery.flush(destination, now=timezone.now() + timedelta(hours=1)).claimed == 0
    assert len(mp.requests("/engage")) == 4
