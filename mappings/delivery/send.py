"""Send the records a flush owes: batch, send, classify, attribute (spec §14, §15).

Order of sending:

1. per mapping (in the destination's order), the records that gate others (original-mode
   ``$identify`` on ``/track``), then
2. per mapping, everything else: a gated record only once its ``$identify`` was accepted, a
   profile update only when no older update of the same profile is waiting for a retry.

Within a mapping, ``build_requests_for`` packs the records of every claimed event per endpoint
(records of one event stay together and in order). Each answer is classified by
``responses.classify`` and attributed record by record: delivered, failed for good, retry later,
resend alone once (``/engage`` ``status: 0``), split in half (413) or pause (401/403).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from .. import http
from ..destinations.mixpanel import wire
from ..destinations.mixpanel.responses import Verdict, classify
from ..evaluation import CompiledMapping, DestinationPlan, build_requests_for
from ..models import Destination, PendingProfileUpdate
from .recording import manifest_entry, record_request
from .retry import mark_retry
from .work import DeliveryWork, Owed, stored_outcome

log = logging.getLogger(__name__)

# States of records that will not be sent in this flush and hold newer updates of their profile.
_HOLDING = frozenset({"retry", "waiting", "deferred"})
_KEY_CHUNK = 500


class Blocker(NamedTuple):
    delivery_id: int
    not_before: datetime | None
    work: DeliveryWork | None


def request_options() -> dict:
    """Deployment settings for ``build_requests_for`` (the preview uses the same ones)."""
    return {
        "api_url_override": settings.SEGMIX_MIXPANEL_API_URL or None,
        "user_agent": http.USER_AGENT,
        "import_max_bytes": settings.SEGMIX_MIXPANEL_IMPORT_MAX_BYTES,
        "profile_batch_size": settings.SEGMIX_MIXPANEL_PROFILE_BATCH_SIZE,
    }


class Sender:
    """One flush's sending. ``run()`` leaves every ``Owed.state`` final for this flush; records
    it could not send (pause, lease nearly over) stay ``pending``."""

    def __init__(
        self,
        destination: Destination,
        plan: DestinationPlan,
        works: list[DeliveryWork],
        now: datetime,
        *,
        deadline: float,
    ) -> None:
        self.destination, self.plan, self.works, self.now = destination, plan, works, now
        self.deadline = deadline
        self.compiled: dict[str, CompiledMapping] = {str(c.config.id): c for c in plan.mappings}
        self.by_record: dict[int, Owed] = {}
        self.external: dict[str, Blocker] = {}
        self.paused: Verdict | None = None
        self.stopped = False
        self.requests_sent = 0

    # -- the plan ---------------------------------------------------------------------------

    def run(self) -> None:
        owed = [o for w in self.works for o in w.owed if o.state == "pending"]
        if not owed:
            return
        if self.plan.settings is None:
            message = "invalid destination settings: " + " ".join(self.plan.settings_errors)
            for o in owed:
                o.state, o.message = "failed", message
            return
        self.external = self._external_blockers(owed)
        order = [str(c.config.id) for c in self.plan.mappings]
        order += sorted({o.mapping for o in owed} - set(order))  # mappings deleted since
        for gates in (True, False):
            for mapping in order:
                if self.stopped:
                    return  # paused or out of time: the rest stays owed, untouched
                batch = [
                    o
                    for o in owed
                    if o.mapping == mapping
                    and o.state == "pending"
                    and o.record.gates_following == gates
                ]
                batch = self._in_profile_order([o for o in batch if self._gate_open(o)])
                for request in self._build(mapping, batch):
                    if self._out_of_time():
                        return
                    request = self._still_in_order(request)
                    if request is not None:
                        self._send(request)

    def _build(self, mapping: str, batch: list[Owed]) -> list[wire.PreparedRequest]:
        if not batch:
            return []
        batch.sort(key=lambda o: (o.work.id, o.index))
        for o in batch:
            self.by_record[id(o.record)] = o
        records = [o.record for o in batch]
        compiled = self.compiled.get(mapping)
        options = request_options()
        if compiled is not None:
            return build_requests_for(records, self.plan, compiled, **options)
        assert self.plan.settings is not None
        return wire.build_requests(records, self.plan.settings, **options)

    # -- gates and per-profile order ------------------------------------------------------------

    def _gate_open(self, o: Owed) -> bool:
        """Original mode: a record after ``$identify`` goes only once that was accepted."""
        if o.gate is None:
            return True
        gate = o.work.find(o.mapping, o.gate)
        state = gate.state if gate else stored_outcome(o.work.delivery, o.mapping, o.gate)
        if state == "delivered":
            return True
        if state == "failed":
            o.state, o.message = "failed", "not sent: its $identify failed"
        else:
            o.state, o.message = "waiting", "waiting for its $identify"
        return False

    def _external_blockers(self, owed: list[Owed]) -> dict[str, Blocker]:
        """Per profile key, the oldest unclaimed delivery still owing an update of it."""
        keys = sorted({o.order_key for o in owed if o.order_key})
        claimed = [w.id for w in self.works]
        found: dict[str, Blocker] = {}
        for start in range(0, len(keys), _KEY_CHUNK):
            rows = (
                PendingProfileUpdate.objects.filter(
                    destination=self.destination, key__in=keys[start : start + _KEY_CHUNK]
                )
                .exclude(delivery_id__in=claimed)
                .values_list("key", "delivery_id", "delivery__next_attempt_at")
            )
            for key, delivery_id, due in rows:
                if key not in found or delivery_id < found[key].delivery_id:
                    found[key] = Blocker(delivery_id, due, None)
        return found

    def _blockers(self) -> dict[str, Blocker]:
        blockers = dict(self.external)
        for work in self.works:
            for o in work.owed:
                if o.order_key and o.state in _HOLDING:
                    known = blockers.get(o.order_key)
                    if known is None or work.id < known.delivery_id:
                        blockers[o.order_key] = Blocker(work.id, None, work)
        return blockers

    def _in_profile_order(self, batch: list[Owed]) -> list[Owed]:
        """Defer profile updates that an older, still waiting update of the profile precedes."""
        if not any(o.order_key for o in batch):
            return batch
        blockers = self._blockers()
        kept = []
        for o in batch:
            blocker = blockers.get(o.order_key) if o.order_key else None
            if blocker is not None and blocker.delivery_id < o.work.id:
                o.state = "deferred"
                o.message = "waiting for an older update of the same profile"
                work = o.work
                work.deferred_behind = blocker.delivery_id
                work.behind = blocker.work
                if blocker.not_before and (
                    not work.not_before or work.not_before < blocker.not_before
                ):
                    work.not_before = blocker.not_before
            else:
                kept.append(o)
        return kept

    def _still_in_order(self, request: wire.PreparedRequest) -> wire.PreparedRequest | None:
        """Re-check order just before sending: an earlier request may have been told to retry."""
        items = [self.by_record[id(r)] for r in request.records]
        if not any(o.order_key for o in items):
            return request
        kept = self._in_profile_order(items)
        if len(kept) == len(items):
            return request
        return wire.with_records(request, [o.record for o in kept]) if kept else None

    # -- one request ----------------------------------------------------------------------------

    def _out_of_time(self) -> bool:
        if not self.stopped and time.monotonic() > self.deadline:
            self.stopped = True  # the lease is nearly over: leave the rest for the next flush
        return self.stopped

    def _send(self, request: wire.PreparedRequest) -> None:
        if self._out_of_time():
            return
        items = [self.by_record[id(r)] for r in request.records]
        attempt = max(o.work.delivery.attempts for o in items) + 1
        started = timezone.now()
        result = http.try_send(request, timeout=settings.SEGMIX_MIXPANEL_TIMEOUT)
        verdict = classify(request, result.status, result.headers, result.body, error=result.error)
        self.requests_sent += 1
        for anomaly in verdict.anomalies:
            log.warning("destination %s, %s: %s", self.destination.pk, request.url, anomaly)
        if verdict.alert and verdict.kind != "pause":  # the pause is logged by flush()
            log.error("destination %s: %s", self.destination.pk, verdict.alert)
        resend: list[Owed] = []
        if verdict.kind == "pause":
            self.paused, self.stopped = verdict, True
            outcomes = ["paused"] * len(items)
        elif verdict.kind == "split":
            outcomes = ["split"] * len(items)
        else:
            for o, outcome in zip(items, verdict.records, strict=True):
                o.work.attempted = True
                if outcome.outcome == "delivered":
                    o.state, o.field, o.message = "delivered", None, None
                elif outcome.outcome == "failed":
                    o.state, o.field, o.message = "failed", outcome.field, outcome.message
                elif outcome.outcome == "retry":
                    mark_retry(o, verdict, self.now)
                else:  # resend_alone (§14.5): idempotent records, once each, in their own request
                    resend.append(o)
            outcomes = ["resend_alone" if o in resend else o.state for o in items]
        manifest = [
            manifest_entry(o.work.id, o.record.kind, o.record.insert_id, state, o.field, o.message)
            for o, state in zip(items, outcomes, strict=True)
        ]
        first = items[0]
        compiled = self.compiled.get(first.mapping)
        record_request(
            self.destination,
            request,
            result,
            verdict,
            started_at=started,
            attempt=attempt,
            manifest=manifest,
            mapping_id=compiled.config.id if compiled else None,
            mapping_version=first.version,
        )
        if verdict.kind == "split":  # not an attempt: both halves go now
            for half in wire.split_in_half(request):
                self._send(half)
        for o in resend:
            self._send(wire.with_records(request, [o.record]))
