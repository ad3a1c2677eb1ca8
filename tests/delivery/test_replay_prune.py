"""Redrive (``manage.py replay``) and retention (``manage.py prune``)."""

from __future__ import annotations

import contextlib
import io
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mappings import delivery
from mappings.configuration import save_mapping
from mappings.models import (
    Delivery,
    Event,
    IngestRequest,
    MixpanelRequest,
    RejectedMessage,
)
from tests.delivery.conftest import fresh, store, track

pytestmark = pytest.mark.django_db


def replay(*args: str) -> str:
    out = io.StringIO()
    call_command("replay", "--destination", "Mixpanel", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def failed_once(mp, source, destination):
    """Two events: one delivered, one failed for good (a 400 without failed_records)."""
    delivered = store(source, destination, track("Kept"))
    delivery.flush(destination)
    failed = store(source, destination, track("Lost", rows=3))
    mp.script("/import", status=400, body={"code": 400, "error": "unable to parse"})
    delivery.flush(destination)
    assert (fresh(delivered).status, fresh(failed).status) == ("delivered", "failed")
    return delivered, failed


def test_replay_resends_the_stored_records_of_failed_deliveries(mp, failed_once):
    delivered, failed = failed_once
    first_body = MixpanelRequest.objects.last().body

    output = replay("--since", "1h")

    failed = fresh(failed)
    assert (failed.status, failed.attempts, failed.reason) == ("delivered", 1, "")
    assert MixpanelRequest.objects.last().body == first_body  # same record, same $insert_id
    assert [r["event"] for r in mp.records()] == ["Kept", "Lost"]
    assert "1 deliveries were put back: 1 stored records to resend, 0 to evaluate again" in output
    assert "reset 1/1" in output and "Result: 1 delivered" in output


def test_replay_dry_run_only_counts(mp, failed_once):
    _, failed = failed_once
    requests = MixpanelRequest.objects.count()

    output = replay("--since", "1h", "--dry-run", "--status", "all")

    assert "2 deliveries would be put back: 2 stored records to resend" in output
    assert fresh(failed).status == "failed" and MixpanelRequest.objects.count() == requests


def test_replay_all_resends_delivered_records_which_mixpanel_deduplicates(mp, failed_once):
    delivered, _ = failed_once

    replay("--since", "1h", "--status", "all")

    assert fresh(delivered).status == "delivered"
    assert {r["event"]: r["copies"] for r in mp.deduped()} == {"Kept": 2, "Lost": 1}


def test_replay_honours_the_time_range(mp, failed_once):
    _, failed = failed_once
    failed.event.received_at = timezone.now() - timedelta(days=3)
    failed.event.save()

    assert "0 deliveries were put back" in replay("--since", "2d")
    assert "1 deliveries were put back" in replay("--since", "4d", "--until", "2d")
    assert fresh(failed).status == "delivered"


def test_replay_evaluates_a_fixed_mapping_again(mp, source, destination):
    d = store(source, destination, {**track("Broken"), "properties": "oops"})
    delivery.flush(destination)
    assert fresh(d).status == "failed"
    mapping = destination.mappings.get(name="Track Calls")
    mapping.mapping = {**mapping.mapping, "event_properties": {"@path": "$.context"}}
    save_mapping(mapping)

    output = replay("--since", "1h")

    assert "0 stored records to resend, 1 to evaluate again" in output
    d = fresh(d)
    assert d.status == "delivered" and [r["event"] for r in mp.records()] == ["Broken"]
    assert d.outcome[str(mapping.id)]["version"] == 2


def test_replay_rejects_bad_arguments(db, destination):
    with pytest.raises(CommandError, match="no destination"):
        call_command("replay", "--destination", "Nope", "--since", "1h")
    with pytest.raises(CommandError, match="not a date"):
        replay("--since", "yesterday-ish")
    with pytest.raises(CommandError, match="before"):
        replay("--since", "1h", "--until", "2h")


def test_prune_deletes_what_is_past_retention_and_keeps_open_deliveries(source, destination):
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    old_done = store(source, destination, track(), received_at=old, status="delivered")
    old_open = store(source, destination, track(), received_at=old, status="retrying")
    young = store(source, destination, track(), received_at=recent, status="delivered")
    for days in (8, 6):
        IngestRequest.objects.create(
            request_id=f"r{days}",
            route="/v1/batch",
            status=200,
            received_at=now - timedelta(days=days),
        )
    for days in (31, 29):
        RejectedMessage.objects.create(
            source=source,
            code="invalid_json",
            message="bad",
            raw="{",
            received_at=now - timedelta(days=days),
            last_seen_at=now - timedelta(days=days),
        )
        MixpanelRequest.objects.create(
            destination=destination,
            endpoint="import",
            url="x",
            started_at=now - timedelta(days=days),
        )

    out = io.StringIO()
    call_command("prune", stdout=out)

    assert out.getvalue().strip() == (
        "Deleted 1 events, 1 rejects, 1 ingest requests, 1 mixpanel requests"
    )
    assert set(Event.objects.values_list("id", flat=True)) == {
        old_open.event_id,
        young.event_id,
    }
    assert not Delivery.objects.filter(pk=old_done.pk).exists()
    assert list(IngestRequest.objects.values_list("request_id", flat=True)) == ["r6"]
    assert RejectedMessage.objects.count() == 1 and MixpanelRequest.objects.count() == 1


def test_retention_is_configurable(source, destination, settings):
    settings.SEGMIX_RETENTION_EVENTS_DAYS = 1
    store(
        source,
        destination,
        track(),
        received_at=timezone.now() - timedelta(days=2),
        status="delivered",
    )

    assert delivery.prune()["events"] == 1


def test_replay_can_leave_the_sending_to_the_workers(mp, failed_once, monkeypatch):
    _, failed = failed_once
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "schedule_flush", lambda pk: scheduled.append(pk) or True)
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    replay("--since", since, "--no-flush")

    failed = fresh(failed)
    assert (failed.status, failed.reason, failed.attempts) == ("pending", "replayed", 0)
    assert [r["kind"] for r in failed.pending_records] == ["event"]
    assert scheduled == [failed.destination_id]


def test_replay_leaves_the_sending_to_a_running_flush(mp, failed_once, monkeypatch):
    _, failed = failed_once
    scheduled = []
    # As if a worker's flush of the destination were running (mappings.delivery.flush is also
    # the name of the function the package exports, hence sys.modules).
    monkeypatch.setattr(
        sys.modules["mappings.delivery.flush"],
        "exclusive_flush",
        lambda pk: contextlib.nullcontext(False),
    )
    monkeypatch.setattr(delivery, "schedule_flush", scheduled.append)
    sent_before = len(mp.records())

    output = replay("--since", "1h")

    assert "A worker is flushing this destination; it delivers the replayed rows." in output
    assert scheduled == []  # the running flush looks for due rows once it lets go
    assert "Result: 1 pending" in output and fresh(failed).status == "pending"
    assert len(mp.records()) == sent_before
