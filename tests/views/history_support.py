"""Building pipeline rows for the Debugger and Deliveries view tests (as ingest and the workers
would leave them), without running ingest or a flush."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from mappings.models import (
    Delivery,
    Destination,
    Event,
    IngestRequest,
    MixpanelRequest,
    RejectedMessage,
    Source,
)

_ids = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_event(
    source: Source,
    message: dict[str, Any],
    *,
    received_at: datetime | None = None,
    raw: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
    duplicates: int = 0,
    deliveries: bool = True,
) -> Event:
    """An accepted event (normalised like ingest), with a pending delivery per enabled
    destination of ``source`` unless ``deliveries`` is false."""
    received_at = received_at or timezone.now() - timedelta(seconds=5)
    number = next(_ids)
    message = {
        "messageId": f"msg-{number}",
        "timestamp": iso(received_at),
        "receivedAt": iso(received_at),
        "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
        **message,
    }
    request = IngestRequest.objects.create(
        request_id=f"req{number:06d}", source=source, route="/v1/batch", status=200, accepted=1
    )
    event = Event.objects.create(
        source=source,
        request=request,
        message_id=message["messageId"],
        dedup_hash=hashlib.sha256(message["messageId"].encode()).hexdigest(),
        type=message["type"],
        event_name=str(message.get("event", ""))[:255],
        user_id=str(message.get("userId") or "")[:255],
        anonymous_id=str(message.get("anonymousId") or "")[:255],
        group_id=str(message.get("groupId") or "")[:255],
        received_at=received_at,
        message=message,
        raw=raw if raw is not None else {**message, "writeKey": source.write_key},
        warnings=warnings or [],
        duplicate_count=duplicates,
    )
    if deliveries:
        for destination in source.destinations.filter(enabled=True):
            Delivery.objects.create(
                event=event,
                destination=destination,
                created_at=received_at,
                updated_at=received_at,
                next_attempt_at=received_at,
            )
    return event


def add_reject(
    source: Source,
    raw: dict[str, Any] | str,
    *,
    code: str = "no_user_anon_id",
    message: str = "userId or anonymousId is required",
    received_at: datetime | None = None,
) -> RejectedMessage:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    message_id = raw.get("messageId", "") if isinstance(raw, dict) else ""
    return RejectedMessage.objects.create(
        source=source,
        message_id=message_id,
        dedup_hash=hashlib.sha256(message_id.encode()).hexdigest() if message_id else None,
        code=code,
        message=message,
        raw=text,
        received_at=received_at or timezone.now() - timedelta(seconds=5),
    )


def settle(
    delivery: Delivery,
    status: str,
    *,
    field: str | None = None,
    error: str | None = None,
    body: dict[str, Any] | None = None,
    mapping_status: str = "ready",
) -> Delivery:
    """Give ``delivery`` the state a flush would leave: one record from the destination's first
    mapping with outcome ``delivered``/``failed``, or (``filtered``) nothing matched."""
    mapping = delivery.destination.mappings.order_by("position").first()
    key = str(mapping.pk)
    insert_id = delivery.event.message_id
    if status == Delivery.FILTERED:
        delivery.outcome = {
            key: {"name": mapping.name, "version": 1, "status": "not_matched",
                  "why": 'not matched: type = "track" is false', "records": []}
        }  # fmt: skip
        delivery.status, delivery.reason = status, "no matching mapping"
        delivery.save()
        return delivery
    outcome = "delivered" if status == Delivery.DELIVERED else "failed"
    record_body = body or {
        "event": delivery.event.event_name,
        "properties": {"$insert_id": insert_id},
    }
    delivery.records = [
        {"mapping": key, "index": 0, "version": 1, "endpoint": "import", "kind": "event",
         "insert_id": insert_id, "idempotent": True, "gates_following": False, "isolate": False,
         "body": json.dumps(record_body)}
    ]  # fmt: skip
    delivery.outcome = {
        key: {"name": mapping.name, "version": 1, "status": mapping_status, "why": "matched",
              "error": None, "error_status": None,
              "records": [{"kind": "event", "endpoint": "import", "insert_id": insert_id,
                           "outcome": outcome, "field": field, "message": error}]}
    }  # fmt: skip
    delivery.status = status
    delivery.reason = "" if outcome == "delivered" else f"{field}: {error}"
    delivery.attempts = 1
    delivery.first_attempt_at = delivery.updated_at = delivery.created_at + timedelta(seconds=1)
    delivery.save()
    return delivery


def add_request(
    destination: Destination,
    deliveries: list[Delivery],
    *,
    status: int = 200,
    response: str = '{"code": 200, "num_records_imported": 1, "status": "OK"}',
    verdict: str = "delivered",
) -> MixpanelRequest:
    """The request a flush would have recorded for ``deliveries`` (one record each)."""
    body = [json.loads(d.records[0]["body"]) for d in deliveries]
    manifest = [
        [d.pk, "event", d.records[0]["insert_id"], d.outcome[d.records[0]["mapping"]]["records"][0]["outcome"],
         d.outcome[d.records[0]["mapping"]]["records"][0]["field"],
         d.outcome[d.records[0]["mapping"]]["records"][0]["message"]]
        for d in deliveries
    ]  # fmt: skip
    return MixpanelRequest.objects.create(
        destination=destination,
        endpoint="import",
        url="https://api.mixpanel.com/import?strict=1",
        headers={"Authorization": "Basic •••••• (API secret)", "Content-Type": "application/json"},
        body=body,
        record_count=len(body),
        started_at=deliveries[0].created_at + timedelta(seconds=1),
        duration_ms=12.5,
        response_status=status,
        response_body=response,
        verdict=verdict,
        message=f"HTTP {status}",
        manifest=manifest,
        delivery_ids=sorted(d.pk for d in deliveries),
    )
