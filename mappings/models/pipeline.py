"""The delivery pipeline's state: what arrived, what was decided, what was sent.

* :class:`IngestRequest` — one row per request to ``/v1/…`` (the request log).
* :class:`Event` — one accepted Segment message, normalised, deduplicated per source.
* :class:`RejectedMessage` — a message quarantined at ingest (kept with its raw JSON).
* :class:`Delivery` — one (event, destination) pair: the outbox row the workers consume, and the
  final state of that event at that destination.
* :class:`MixpanelRequest` — one HTTP request to Mixpanel (an attempt), with what was sent, what
  came back, and which deliveries and mappings it carried (``manifest``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .config import Destination, Mapping, Source
from .fields import OrderedJSONField


class IngestRequest(models.Model):
    request_id = models.CharField(max_length=32, db_index=True)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL)
    key_prefix = models.CharField(max_length=8, blank=True, default="")
    route = models.CharField(max_length=40)
    status = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=40, blank=True, default="")
    wire_bytes = models.PositiveIntegerField(default=0)
    decoded_bytes = models.PositiveIntegerField(default=0)
    content_encoding = models.CharField(max_length=40, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    retry_count = models.PositiveIntegerField(null=True, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(default=0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The first 2 KB of the decoded body, kept only for refused requests (debugging panel).
    body_excerpt = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.route} {self.status} ({self.request_id})"


class Event(models.Model):
    # No index of its own: every index below leads with ``source`` (ingest writes ~10 index
    # entries per event, so each index counts).
    source = models.ForeignKey(
        Source, related_name="events", on_delete=models.CASCADE, db_index=False
    )
    request = models.ForeignKey(IngestRequest, null=True, blank=True, on_delete=models.SET_NULL)
    batch_index = models.PositiveIntegerField(default=0)
    message_id = models.TextField()
    message_id_assigned = models.BooleanField(default=False)
    # SHA-256 of the UTF-8 messageId: fixed width for the unique index whatever the id's length.
    dedup_hash = models.CharField(max_length=64)
    type = models.CharField(max_length=16)
    # Search columns (the Source Debugger's exact filters, indexed per source below): the first
    # 255 characters of the value; the whole value is in ``message``.
    event_name = models.CharField(max_length=255, blank=True, default="")
    user_id = models.CharField(max_length=255, blank=True, default="")
    anonymous_id = models.CharField(max_length=255, blank=True, default="")
    group_id = models.CharField(max_length=255, blank=True, default="")
    received_at = models.DateTimeField(db_index=True)
    message = OrderedJSONField()
    raw = OrderedJSONField()
    warnings = OrderedJSONField(default=list, blank=True)
    duplicate_count = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "dedup_hash"], name="unique_event_per_source")
        ]
        # Composite indexes rather than ``db_index=True``: searches are per source, and on
        # PostgreSQL ``db_index`` on a CharField adds a second (LIKE) index nobody queries.
        indexes = [
            models.Index(fields=["source", "-received_at", "-id"], name="event_stream"),
            models.Index(fields=["source", "user_id"], name="event_user_id"),
            models.Index(fields=["source", "anonymous_id"], name="event_anonymous_id"),
            models.Index(fields=["source", "group_id"], name="event_group_id"),
            models.Index(fields=["source", "event_name"], name="event_name"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class RejectedMessage(models.Model):
    source = models.ForeignKey(Source, related_name="rejects", on_delete=models.CASCADE)
    request = models.ForeignKey(IngestRequest, null=True, blank=True, on_delete=models.SET_NULL)
    batch_index = models.PositiveIntegerField(default=0)
    message_id = models.TextField(blank=True, default="")
    # NULL when the reject has no usable messageId: the conditional unique index skips NULLs.
    dedup_hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    code = models.CharField(max_length=40)
    message = models.TextField()
    field = models.CharField(max_length=100, blank=True, default="")
    raw = models.TextField()
    count = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "dedup_hash"],
                condition=models.Q(dedup_hash__isnull=False),
                name="unique_reject_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.message_id or '(no messageId)'}"


class Delivery(models.Model):
    """One event at one destination. Rows in ``pending``/``retrying`` are the work queue."""

    PENDING = "pending"  # waiting for a worker (first attempt)
    RETRYING = "retrying"  # records failed transiently; next try at ``next_attempt_at``
    FILTERED = "filtered"  # blocked by ``integrations`` or matched no enabled mapping
    SKIPPED = "skipped"  # matched, but nothing to send (e.g. alias in simplified mode)
    DELIVERED = "delivered"
    PARTIAL = "partially_delivered"
    FAILED = "failed"  # failed for good (validation, Mixpanel rejected, retries exhausted)
    STATUS_CHOICES = [
        (s, s) for s in (PENDING, RETRYING, FILTERED, SKIPPED, DELIVERED, PARTIAL, FAILED)
    ]
    OPEN = (PENDING, RETRYING)

    # No single-column indexes for the two keys: ``unique_delivery`` leads with ``event`` and
    # both indexes below lead with ``destination``. A delivery row is written three times
    # (ingest, claim, result), each time into every index, so a redundant one costs thrice.
    event = models.ForeignKey(
        Event, related_name="deliveries", on_delete=models.CASCADE, db_index=False
    )
    destination = models.ForeignKey(
        Destination, related_name="deliveries", on_delete=models.CASCADE, db_index=False
    )
    status = models.CharField(max_length=24, choices=STATUS_CHOICES, default=PENDING)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker that claimed the row holds it until then; a crashed worker's claim simply expires.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    # Per mapping: {"<mapping id>": {"name", "version", "status", "why", "error", …}}.
    outcome = OrderedJSONField(default=dict, blank=True)
    # Every record built for this event, as first built (the "values sent" of the delivery
    # history, and what replay resends). Each is a dict with ``mapping``, ``index``, ``endpoint``,
    # ``kind``, ``insert_id``, the delivery flags and ``body`` as compact JSON *text*: PostgreSQL's
    # jsonb would reorder the keys, and retries must resend byte-identical bodies.
    records = OrderedJSONField(default=list, blank=True)
    # Records still owed to Mixpanel after a transient failure (or a pause), exactly as first
    # built, so retries resend identical records (spec §15). Same shape as ``records``.
    pending_records = OrderedJSONField(default=list, blank=True)
    # True when this delivery was a console "Send test event".
    test = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "destination"], name="unique_delivery")
        ]
        indexes = [
            models.Index(
                fields=["destination", "status", "next_attempt_at"], name="delivery_queue"
            ),
            models.Index(fields=["destination", "-created_at"], name="delivery_history"),
            # The work queue (``claim``): open rows only, in the order they are claimed. With
            # a backlog, ordering by id through the primary key first skipped every finished
            # row (55 ms a claim with 300,000 behind the first open one; 0.7 ms this way).
            models.Index(
                fields=["destination", "next_attempt_at", "id"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → destination {self.destination_id}: {self.status}"


class MixpanelRequest(models.Model):
    """One HTTP request to Mixpanel: what was sent, what came back, for which deliveries."""

    # Indexed by ``request_history``, which leads with it.
    destination = models.ForeignKey(
        Destination, related_name="requests", on_delete=models.CASCADE, db_index=False
    )
    mapping = models.ForeignKey(Mapping, null=True, blank=True, on_delete=models.SET_NULL)
    mapping_version = models.PositiveIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=16)
    method = models.CharField(max_length=8, default="POST")
    url = models.TextField()
    # Headers with Authorization masked; the decoded body (JSON), never the credentials.
    headers = OrderedJSONField(default=dict)
    body = OrderedJSONField(default=list)
    record_count = models.PositiveIntegerField(default=0)
    body_bytes = models.PositiveIntegerField(default=0)
    wire_bytes = models.PositiveIntegerField(default=0)
    attempt = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    duration_ms = models.FloatField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = OrderedJSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    verdict = models.CharField(max_length=24, blank=True, default="")
    # The classification in words, with any anomaly or note (``responses.Verdict``).
    message = models.TextField(blank=True, default="")
    # Position k of the body: [delivery id, kind, $insert_id, outcome, field, message].
    manifest = OrderedJSONField(default=list)
    delivery_ids = OrderedJSONField(default=list)
    test = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["destination", "-started_at"], name="request_history")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.response_status}"


class PendingProfileUpdate(models.Model):
    """A profile (``/engage``) or group (``/groups``) update that a delivery still owes Mixpanel.

    Spec §14.3: a newer update for the same profile on the same destination is not sent while an
    older one waits for a retry. Written and cleared by the delivery worker at the end of each
    flush, so the check is one indexed lookup instead of a scan of every retrying row.
    """

    destination = models.ForeignKey(Destination, related_name="+", on_delete=models.CASCADE)
    delivery = models.ForeignKey(
        Delivery, related_name="pending_profile_updates", on_delete=models.CASCADE
    )
    # SHA-256 (hex) of the endpoint and the profile's id: distinct ids have no length limit.
    key = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["destination", "key"], name="profile_update_order")]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} waits on profile {self.key[:12]}"
