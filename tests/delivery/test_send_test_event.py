"""The console's "Send test event": the live path, synchronously, retries off (spec §17)."""

from __future__ import annotations

import pytest

from mappings.delivery import send_test_event
from mappings.models import Delivery, Destination, MixpanelRequest
from tests.delivery.conftest import make_destination, purchase, store, track

pytestmark = pytest.mark.django_db


def mapping(destination, name="Track Calls"):
    return destination.mappings.get(name=name)


def test_it_sends_the_event_now_and_records_the_attempt_tagged_test(mp, source, destination):
    result = send_test_event(
        destination, mapping(destination), {**track("Tested"), "messageId": "test-1"}
    )

    assert (result.status, result.summary) == ("ready", "delivered")
    [request] = result.requests
    assert (request.status, request.verdict) == (200, "delivered")
    assert request.headers["Authorization"] == "Basic •••••• (API secret)"
    assert request.body[0]["event"] == "Tested"
    assert request.response_headers == {"Content-Type": "application/json"}
    assert [(r.kind, r.label) for r in request.records] == [("event", "delivered")]
    saved = MixpanelRequest.objects.get()
    assert saved.pk == request.request_id and saved.test is True and saved.attempt == 1
    assert [r["event"] for r in mp.records()] == ["Tested"]
    assert Delivery.objects.count() == 0


def test_a_stored_event_keeps_its_insert_id_and_links_its_delivery(mp, source, destination):
    d = store(source, destination, track("Stored"))

    send_test_event(destination, mapping(destination), d.event.message, stored_event=d.event)

    saved = MixpanelRequest.objects.get()
    assert saved.manifest == [[d.id, "event", d.event.message_id, "delivered", None, None]]
    assert Delivery.objects.get(pk=d.pk).status == "pending"  # the outbox is untouched


def test_it_never_retries_and_says_what_would_happen(mp, source, destination):
    mp.script("/import", status=429, headers={"Retry-After": "30"})

    result = send_test_event(destination, mapping(destination), track())

    [request] = result.requests
    assert (request.status, request.verdict, result.summary) == (429, "retry", "would retry")
    assert request.response_headers["Retry-After"] == "30"
    assert [r.label for r in request.records] == ["would retry"]
    assert len(mp.requests()) == 1


def test_it_never_splits_or_pauses(mp, source, destination):
    mp.script("/import", status=413)
    event = purchase("o-1", {"product_id": "a"}, {"product_id": "b"})
    result = send_test_event(destination, mapping(destination, "Order Completed Calls"), event)
    assert result.summary == "would split the request in half (413)"
    assert len(mp.requests()) == 1

    mp.script("/import", status=401)
    result = send_test_event(destination, mapping(destination), track())
    assert result.summary == "would pause the destination (credentials rejected)"
    assert Destination.objects.get(pk=destination.pk).paused_at is None


def test_a_validation_error_sends_nothing(mp, source, destination):
    result = send_test_event(destination, mapping(destination), {**track(), "properties": "x"})

    assert result.status == "validation_error" and result.requests == []
    assert result.error == "Event Properties must be an object but it was a string."
    assert mp.requests() == [] and MixpanelRequest.objects.count() == 0


def test_original_mode_does_not_send_the_profile_when_identify_is_refused(mp, source):
    destination = make_destination(source, "Original", idMergeMode="original")
    mp.script("/track", status=503)

    result = send_test_event(
        destination,
        mapping(destination, "Identify Calls"),
        {"type": "identify", "userId": "u1", "anonymousId": "a1", "traits": {"plan": "pro"}},
    )

    assert [r.verdict for r in result.requests] == ["retry"]
    assert [(r.kind, r.outcome) for r in result.not_sent] == [("profile", "not_sent")]
    assert result.summary == "would retry" and mp.requests("/engage") == []
