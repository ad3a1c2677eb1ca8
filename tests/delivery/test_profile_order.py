"""Original-mode ``$identify`` gating and per-``$distinct_id`` order of profile updates (§14.3)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mappings import delivery
from mappings.models import MixpanelRequest, PendingProfileUpdate
from tests.delivery.conftest import fresh, identify, make_destination, store

pytestmark = pytest.mark.django_db


def sent() -> list[tuple[str, str, int]]:
    return list(
        MixpanelRequest.objects.order_by("id").values_list("endpoint", "verdict", "attempt")
    )


@pytest.fixture
def original(source):
    return make_destination(source, "Original", idMergeMode="original")


def test_a_profile_update_waits_until_its_identify_is_accepted(mp, source, original):
    d = store(source, original, identify(plan="pro"))
    mp.script("/track", status=503)
    now = timezone.now()

    delivery.flush(original, now=now)

    d = fresh(d)
    assert (d.status, d.attempts) == ("retrying", 1)
    assert [r["kind"] for r in d.pending_records] == ["$identify", "profile"]
    [entry] = [e for e in d.outcome.values() if e["records"]]
    assert [(r["kind"], r["outcome"]) for r in entry["records"]] == [
        ("$identify", "retry"),
        ("profile", "waiting"),
    ]
    assert sent() == [("track", "retry", 1)] and mp.requests("/engage") == []

    delivery.flush(original, now=d.next_attempt_at)

    assert fresh(d).status == "delivered"
    assert sent() == [("track", "retry", 1), ("track", "delivered", 2), ("engage", "delivered", 2)]
    assert [r["event"] for r in mp.records("/track")] == ["$identify"]
    assert mp.profile("user-1") == {"plan": "pro"}


def test_a_profile_update_is_not_sent_when_its_identify_failed_for_good(mp, source, original):
    d = store(source, original, identify(plan="pro"))
    mp.script("/track", status=200, body={"status": 0, "error": "bad identify"})

    delivery.flush(original)

    d = fresh(d)
    assert d.status == "failed"
    assert d.reason == "$identify: bad identify; profile: not sent: its $identify failed"
    assert sent() == [("track", "failed", 1)]
    assert mp.requests("/engage") == [] and mp.profile("user-1") is None


def test_a_newer_update_of_a_profile_waits_while_an_older_one_is_retrying(mp, source, destination):
    older = store(source, destination, identify("user-1", plan="pro"))
    newer = store(source, destination, identify("user-1", plan="team"))
    other = store(source, destination, identify("user-2", anonymous="anon-2", plan="free"))
    now = timezone.now()
    mp.script("/engage", status=503)
    delivery.flush(destination, now=now, limit=1)  # only the older event
    older = fresh(older)
    assert older.status == "retrying"

    delivery.flush(destination, now=now)

    # The newer $set for user-1 was held back; user-2 is not affected.
    [engage] = mp.requests("/engage")[1:]
    assert [u["$distinct_id"] for u in engage["body"]] == ["user-2"]
    assert fresh(other).status == "delivered"
    newer = fresh(newer)
    assert newer.status == "retrying"  # its /import $identify went; its $set waits
    assert newer.reason == (
        f"waiting for an older update of the same profile (delivery {older.id})"
    )
    assert newer.next_attempt_at >= older.next_attempt_at
    assert [r["kind"] for r in newer.pending_records] == ["profile"]
    assert set(PendingProfileUpdate.objects.values_list("delivery_id", flat=True)) == {
        older.id,
        newer.id,
    }

    delivery.flush(destination, now=newer.next_attempt_at)

    assert (fresh(older).status, fresh(newer).status) == ("delivered", "delivered")
    [last] = mp.requests("/engage")[2:]
    assert [u["$set"]["plan"] for u in last["body"]] == ["pro", "team"]
    assert mp.profile("user-1") == {"plan": "team"}
    assert PendingProfileUpdate.objects.count() == 0
