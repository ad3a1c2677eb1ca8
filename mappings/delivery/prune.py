"""Retention: delete what is older than the configured windows (tracking-API spec §7.2).

Events (with their deliveries) and rejects: ``SEGMIX_RETENTION_EVENTS_DAYS`` /
``SEGMIX_RETENTION_REJECTS_DAYS`` (30); the ingest request log:
``SEGMIX_RETENTION_REQUEST_LOG_DAYS`` (7); Mixpanel requests:
``SEGMIX_RETENTION_MIXPANEL_REQUESTS_DAYS`` (30). An event whose delivery is still open is kept
whatever its age: pruning must never lose an undelivered event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Delivery, Event, IngestRequest, MixpanelRequest, RejectedMessage

CHUNK = 2000  # rows per DELETE, so a big backlog never holds one long transaction


def prune(now: datetime | None = None) -> dict[str, int]:
    """Delete expired rows; returns how many of each kind were deleted."""
    now = now or timezone.now()

    def cutoff(setting: str) -> datetime:
        return now - timedelta(days=getattr(settings, setting))

    events = Event.objects.filter(received_at__lt=cutoff("SEGMIX_RETENTION_EVENTS_DAYS")).exclude(
        deliveries__status__in=Delivery.OPEN
    )
    return {
        "events": _delete(events),
        "rejects": _delete(
            RejectedMessage.objects.filter(last_seen_at__lt=cutoff("SEGMIX_RETENTION_REJECTS_DAYS"))
        ),
        "ingest_requests": _delete(
            IngestRequest.objects.filter(
                received_at__lt=cutoff("SEGMIX_RETENTION_REQUEST_LOG_DAYS")
            )
        ),
        "mixpanel_requests": _delete(
            MixpanelRequest.objects.filter(
                started_at__lt=cutoff("SEGMIX_RETENTION_MIXPANEL_REQUESTS_DAYS")
            )
        ),
    }


def _delete(rows: QuerySet) -> int:
    """Delete ``rows`` in chunks; cascades (an event's deliveries) go with each chunk."""
    model, total = rows.model, 0
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return total
        _, per_model = model.objects.filter(pk__in=ids).delete()
        total += per_model.get(model._meta.label, 0)
