"""Deliveries screen: the time range, the search over delivery history, and replay.

Ranges are fixed choices (the funnel, the chart's buckets and replay all use them); searches are
exact, on indexed columns where the schema has one (messageId through its hash, distinct_id
through the per-source userId/anonymousId indexes, status through the outbox index).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from ..models import Delivery, Destination


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    span: timedelta
    bucket: timedelta  # width of one chart bar
    trunc: str  # the database truncation the buckets are built from


RANGES = {
    r.key: r
    for r in (
        Range("1h", "Last hour", timedelta(hours=1), timedelta(minutes=5), "minute"),
        Range("24h", "Last 24 hours", timedelta(hours=24), timedelta(hours=1), "hour"),
        Range("7d", "Last 7 days", timedelta(days=7), timedelta(hours=6), "hour"),
        Range("30d", "Last 30 days", timedelta(days=30), timedelta(days=1), "day"),
    )
}
DEFAULT_RANGE = "24h"

# Pseudo-statuses: a filtered delivery was blocked by ``integrations`` or matched no mapping.
FILTERED_INTEGRATIONS = "filtered_integrations"
NO_MAPPING = "no_mapping"
STATUS_CHOICES = [
    ("", "Any status"),
    (Delivery.DELIVERED, "Delivered"),
    (Delivery.PARTIAL, "Partially delivered"),
    (Delivery.FAILED, "Failed"),
    (Delivery.RETRYING, "Retrying"),
    (Delivery.PENDING, "Pending"),
    (Delivery.SKIPPED, "Skipped (nothing to send)"),
    (Delivery.FILTERED, "Filtered (any reason)"),
    (FILTERED_INTEGRATIONS, "Filtered by integrations"),
    (NO_MAPPING, "No matching mapping"),
]


def window(range_key: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``[since, until)`` of a range ending now."""
    now = now or timezone.now()
    return now - RANGES[range_key].span, now


class DeliverySearchForm(forms.Form):
    """GET parameters of the Deliveries page (all optional)."""

    range = forms.ChoiceField(
        label="Time range",
        required=False,
        choices=[(r.key, r.label) for r in RANGES.values()],
        initial=DEFAULT_RANGE,
    )
    message_id = forms.CharField(label="messageId", required=False, max_length=2000, strip=False)
    distinct_id = forms.CharField(
        label="distinct_id (userId or anonymousId)",
        required=False,
        max_length=2000,
        strip=False,
    )
    event = forms.CharField(label="Event name", required=False, max_length=2000, strip=False)
    mapping = forms.TypedChoiceField(label="Mapping", required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    page = forms.IntegerField(
        required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput
    )

    def __init__(self, *args, destination: Destination, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Any mapping")]
        choices += [(m.pk, m.name) for m in destination.mappings.order_by("position", "id")]
        self.fields["mapping"].choices = choices
        for name in ("message_id", "distinct_id", "event"):
            self.fields[name].widget.attrs.update(autocomplete="off", spellcheck="false")

    def values(self) -> dict:
        """Cleaned values with defaults; invalid input falls back to "no filter"."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "range": data.get("range") or DEFAULT_RANGE,
            "message_id": data.get("message_id") or "",
            "distinct_id": data.get("distinct_id") or "",
            "event": data.get("event") or "",
            "mapping": data.get("mapping"),
            "status": data.get("status") or "",
            "page": data.get("page") or 1,
        }


class ReplayForm(forms.Form):
    """Replay the failed deliveries of a range (``mappings.delivery.replay``)."""

    range = forms.ChoiceField(choices=[(r.key, r.label) for r in RANGES.values()])
