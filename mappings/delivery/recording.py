"""Record every attempt (house style §5) and each delivery's resulting state.

One :class:`~mappings.models.MixpanelRequest` per HTTP request, written right after its answer,
so the history survives a worker that dies later in the flush. Delivery rows are written once, at
the end of the flush, by :func:`save_deliveries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..destinations.mixpanel.responses import Verdict
from ..destinations.mixpanel.wire import PreparedRequest
from ..http import HttpResult
from ..models import Delivery, Destination, MixpanelRequest, PendingProfileUpdate
from .bulk import bulk_update_rows
from .retry import FlushJitter, next_attempt_at
from .work import OPEN_STATES, DeliveryWork, apply_states, settle

RESPONSE_BODY_LIMIT = 64 * 1024  # bytes of Mixpanel's answer kept per request


def manifest_entry(
    delivery_id: int | None,
    kind: str,
    insert_id: str | None,
    outcome: str,
    field: str | None = None,
    message: str | None = None,
) -> list[Any]:
    """Position k of a request body: ``[delivery id, kind, $insert_id, outcome, field, message]``."""
    return [delivery_id, kind, insert_id, outcome, field, message]


def record_request(
    destination: Destination,
    request: PreparedRequest,
    result: HttpResult,
    verdict: Verdict,
    *,
    started_at: datetime,
    attempt: int,
    manifest: Sequence[list[Any]],
    mapping_id: int | None,
    mapping_version: int | None,
    test: bool = False,
) -> MixpanelRequest:
    """Store one attempt: masked headers, decoded body, the answer (≤ 64 KB), the verdict."""
    words = [verdict.message, *verdict.anomalies, *verdict.notes]
    return MixpanelRequest.objects.create(
        destination=destination,
        mapping_id=mapping_id,
        mapping_version=mapping_version,
        endpoint=request.endpoint,
        method=request.method,
        url=request.url,
        headers=request.masked_headers(),
        body=request.decoded_body(),
        record_count=request.record_count,
        body_bytes=request.uncompressed_bytes,
        wire_bytes=len(request.body),
        attempt=attempt,
        started_at=started_at,
        duration_ms=result.elapsed_ms,
        response_status=result.status,
        response_headers=dict(result.headers),
        response_body=_text(result.body[:RESPONSE_BODY_LIMIT]),
        error=result.error or "",
        verdict=verdict.kind,
        message="; ".join(w for w in words if w),
        manifest=[list(m) for m in manifest],
        delivery_ids=sorted({m[0] for m in manifest if m[0] is not None}),
        test=test,
    )


def _text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a proxy's binary error page must not fail the flush.
    return body.decode("utf-8", "replace").replace("\x00", "\ufffd")


def save_deliveries(
    destination: Destination,
    works: Sequence[DeliveryWork],
    now: datetime,
    *,
    answered: datetime | None = None,
    paused: str | None,
) -> None:
    """Write each claimed delivery's new state and release its lease.

    An attempt is consumed only by a delivery whose records got a real answer (not a pause, not
    a 413 that was split). Open deliveries keep exactly their unsent records in
    ``pending_records``; ``paused`` (the pause reason) puts them back to ``pending``.
    """
    # Backoff and Retry-After count from ``answered`` (when the answers were in hand), not from
    # the start of the flush: time spent waiting on Mixpanel must not shorten the wait (§15).
    changed = timezone.now()
    answered = answered or now
    jitter = FlushJitter()
    for work in works:
        delivery = work.delivery
        apply_states(work)
        if work.attempted:
            delivery.attempts += 1
            delivery.first_attempt_at = delivery.first_attempt_at or now
        settled = settle(delivery)
        open_owed = [o for o in work.owed if o.state in OPEN_STATES]
        delivery.pending_records = [o.stored() for o in open_owed]
        delivery.lease_until = None
        delivery.updated_at = changed
        if not settled.open:
            delivery.status, delivery.reason = settled.status, settled.reason
            continue
        delivery.next_attempt_at = next_attempt_at(work, answered, delivery.attempts, jitter)
        if any(o.state == "retry" for o in open_owed):
            delivery.status, delivery.reason = Delivery.RETRYING, work.last_error
        elif paused:
            delivery.status, delivery.reason = Delivery.PENDING, f"destination paused: {paused}"
        else:
            delivery.status = Delivery.RETRYING if delivery.attempts else Delivery.PENDING
            delivery.reason = _waiting_reason(work)
    fields = [
        "status", "reason", "updated_at", "next_attempt_at", "lease_until", "attempts",
        "first_attempt_at", "outcome", "records", "pending_records",
    ]  # fmt: skip
    with transaction.atomic():
        bulk_update_rows([w.delivery for w in works], fields)
        _save_profile_order(destination, works)


def _waiting_reason(work: DeliveryWork) -> str:
    if work.deferred_behind is not None:
        return f"waiting for an older update of the same profile (delivery {work.deferred_behind})"
    if any(o.state == "waiting" for o in work.owed):
        return "waiting for its $identify"
    return ""


def _save_profile_order(destination: Destination, works: Sequence[DeliveryWork]) -> None:
    """Replace the claimed deliveries' rows in the per-profile ordering index."""
    ids = [w.id for w in works]
    PendingProfileUpdate.objects.filter(delivery_id__in=ids).delete()
    keys = {
        (w.id, o.order_key) for w in works for o in w.owed if o.order_key and o.state in OPEN_STATES
    }
    PendingProfileUpdate.objects.bulk_create(
        [PendingProfileUpdate(destination=destination, delivery_id=d, key=k) for d, k in keys],
        batch_size=500,
    )
