"""Redrive: put finished deliveries back in the outbox (``manage.py replay``).

A replayed delivery resends its **stored** records, exactly as first built, so their
``$insert_id`` and ``time`` are unchanged and Mixpanel deduplicates anything it already has
(destination spec §13). What is put back:

* ``failed`` (default): deliveries that ``failed`` or were ``partially_delivered``. Their records
  that were not delivered are resent (a delivered ``$add`` is never resent); a mapping that
  failed validation is evaluated again, since the usual fix is to correct the mapping.
* ``all``: every finished delivery. Stored records are all resent; a delivery without stored
  records (filtered, skipped, failed validation) is evaluated afresh against today's mappings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Delivery, Destination, PendingProfileUpdate
from .bulk import bulk_update_rows
from .work import ERROR_STATUSES, EVALUATE_AGAIN, stored_outcome

STATUS_CHOICES = ("failed", "all")
CHUNK = 500


@dataclass
class ReplaySummary:
    """``records``: stored records to resend; ``evaluations``: deliveries evaluated again."""

    deliveries: int = 0
    records: int = 0
    evaluations: int = 0


def candidates(
    destination: Destination, *, since: datetime, until: datetime, status: str = "failed"
) -> QuerySet[Delivery]:
    """Finished deliveries of events received in ``[since, until)``."""
    if status not in STATUS_CHOICES:
        raise ValueError(f"status must be one of {', '.join(STATUS_CHOICES)}")
    rows = Delivery.objects.filter(
        destination=destination,
        test=False,
        event__received_at__gte=since,
        event__received_at__lt=until,
    ).exclude(status__in=Delivery.OPEN)
    if status == "failed":
        rows = rows.filter(status__in=[Delivery.FAILED, Delivery.PARTIAL])
    return rows.order_by("id")


def reset_delivery(delivery: Delivery, *, everything: bool, now: datetime) -> tuple[int, bool]:
    """Put one delivery back to ``pending``; returns (records to resend, evaluated again?)."""
    outcome = delivery.outcome or {}
    stored = delivery.records or []
    if "internal" in outcome or (everything and not stored):
        delivery.outcome, delivery.records, resend, again = {}, [], [], True
    else:
        resend = [
            s
            for s in stored
            if everything or stored_outcome(delivery, s["mapping"], s["index"]) != "delivered"
        ]
        for s in resend:
            records = (outcome.get(s["mapping"]) or {}).get("records") or []
            if s["index"] < len(records):
                records[s["index"]].update(outcome="pending", field=None, message=None)
        again = False
        for entry in outcome.values():
            if entry.get("status") in ERROR_STATUSES:
                entry["status"], again = EVALUATE_AGAIN, True
    delivery.pending_records = resend
    delivery.status, delivery.reason = Delivery.PENDING, "replayed"
    delivery.attempts, delivery.first_attempt_at = 0, None
    delivery.next_attempt_at, delivery.lease_until, delivery.updated_at = now, None, now
    return len(resend), again


def replay(
    destination: Destination,
    *,
    since: datetime,
    until: datetime,
    status: str = "failed",
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ReplaySummary, list[int]]:
    """Reset the matching deliveries (or, with ``dry_run``, only count them).

    Returns the summary and the ids of the deliveries put back. ``progress(done, total)`` is
    called after each chunk. The caller flushes (or lets the relay do it).
    """
    rows = candidates(destination, since=since, until=until, status=status)
    ids = list(rows.values_list("id", flat=True))
    summary, now = ReplaySummary(deliveries=len(ids)), timezone.now()
    fields = [
        "outcome", "records", "pending_records", "status", "reason", "attempts",
        "first_attempt_at", "next_attempt_at", "lease_until", "updated_at",
    ]  # fmt: skip
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            # Re-check the status under the transaction: a row may have been replayed already.
            deliveries = list(
                rows.filter(id__in=chunk).select_for_update().order_by("id")
                if not dry_run
                else rows.filter(id__in=chunk)
            )
            for delivery in deliveries:
                count, again = reset_delivery(delivery, everything=status == "all", now=now)
                summary.records += count
                summary.evaluations += int(again)
            if not dry_run:
                bulk_update_rows(deliveries, fields)
                PendingProfileUpdate.objects.filter(delivery_id__in=chunk).delete()
        if progress:
            progress(min(start + CHUNK, len(ids)), len(ids))
    return summary, ids
