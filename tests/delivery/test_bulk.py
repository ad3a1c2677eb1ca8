"""bulk_update_rows: many rows' new values in one statement (json_to_recordset on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings.delivery.bulk import bulk_update_rows
from mappings.models import Delivery
from tests.delivery.conftest import fresh, store, track


def test_it_writes_every_named_field_of_every_row_and_nothing_else(source, destination):
    first = store(source, destination, track(n=1))
    second = store(source, destination, track(n=2))
    later = datetime(2026, 3, 10, 12, 0, 5, 250000, tzinfo=UTC)
    first.status, first.reason, first.next_attempt_at = Delivery.RETRYING, "429 slow down", later
    first.outcome = {"b": {"status": "retry"}, "a": {"status": "sent", "n": 2**70}}
    second.status, second.attempts = Delivery.DELIVERED, 3
    second.reason = "not saved: not a named field"

    bulk_update_rows(
        [first, second], ["status", "reason", "next_attempt_at", "outcome", "attempts"]
    )

    first, second = fresh(first), fresh(second)
    assert (first.status, first.reason, first.next_attempt_at) == (
        Delivery.RETRYING,
        "429 slow down",
        later,
    )
    assert list(first.outcome.items()) == [
        ("b", {"status": "retry"}),
        ("a", {"status": "sent", "n": 2**70}),
    ]
    assert (second.status, second.attempts, second.reason) == (
        Delivery.DELIVERED,
        3,
        "not saved: not a named field",
    )


@pytest.mark.postgres  # SQLite keeps Django's bulk_update, whose text columns cannot take one
def test_a_lone_surrogate_from_a_mixpanel_answer_is_stored_as_a_replacement_character(
    source, destination
):
    delivery = store(source, destination, track())
    delivery.reason = "400: bad \ud83d value"
    delivery.outcome = {"m1": {"status": "failed", "error": "\udc4d"}}

    bulk_update_rows([delivery], ["reason", "outcome"])

    delivery = fresh(delivery)
    assert delivery.reason == "400: bad \ufffd value"
    assert delivery.outcome == {"m1": {"status": "failed", "error": "\ufffd"}}
