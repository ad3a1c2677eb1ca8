"""Claimed deliveries → the records they owe (``DeliveryWork``).

A delivery evaluated for the first time goes through :func:`mappings.evaluation.evaluate_event`,
the function the console preview calls, so what the preview shows is what is sent. A delivery
that was evaluated before resends its stored ``pending_records`` unchanged (spec §15: retries
resend identical records); mappings that replay marked ``evaluate`` are evaluated again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ..evaluation import DestinationPlan, MappingEvaluation, evaluate_event
from ..models import Delivery
from .work import (
    ERROR_STATUSES,
    EVALUATE_AGAIN,
    DeliveryWork,
    Owed,
    gates_of,
    order_key,
    owed_from_stored,
    record_from_stored,
    record_summary,
    stored_record,
)

log = logging.getLogger(__name__)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def prepare(delivery: Delivery, plan: DestinationPlan, now: datetime) -> DeliveryWork:
    """The work for one claimed delivery (its ``event`` must be loaded).

    Never raises for one bad event: an unexpected error in the engine fails that delivery
    (``internal`` mapping entry) instead of poisoning the whole flush.
    """
    work = DeliveryWork(delivery)
    outcome = delivery.outcome or {}
    again = {key for key, entry in outcome.items() if entry.get("status") == EVALUATE_AGAIN}
    if outcome and not again:
        work.owed = owed_from_stored(work, delivery.pending_records or [])
        return work
    try:
        evaluations = evaluate_event(
            delivery.event.message,
            plan,
            stored_event_id=str(delivery.event_id),
            received_at_ms=epoch_ms(delivery.event.received_at),
            now_ms=epoch_ms(now),
            # The trace page re-explains a non-match on demand; workers skip that cost.
            detail=False,
        )
    except Exception as exc:  # a bug in the engine must not block the other events
        log.exception("evaluating event %s failed", delivery.event_id)
        delivery.outcome = {
            "internal": {
                "name": "(internal)",
                "status": "internal",
                "error": f"internal error: {exc}",
            }
        }
        return work
    if not outcome:
        delivery.outcome, delivery.records = {}, []
        chosen = evaluations
    else:  # replay: only the marked mappings, the others keep their recorded outcome
        chosen = [e for e in evaluations if str(e.mapping.id) in again]
        for key in again - {str(e.mapping.id) for e in chosen}:
            delivery.outcome.pop(key)  # the mapping is gone or disabled now
        work.owed = owed_from_stored(work, delivery.pending_records or [])
    for evaluation in chosen:
        _add_evaluation(work, evaluation)
    return work


def _add_evaluation(work: DeliveryWork, evaluation: MappingEvaluation) -> None:
    delivery = work.delivery
    key = str(evaluation.mapping.id)
    version = evaluation.mapping.version
    entry: dict[str, Any] = {
        "name": evaluation.mapping.name,
        "version": version,
        "status": evaluation.status,
        "why": evaluation.why,
        "error": evaluation.error,
        "error_status": evaluation.error_status,
        "records": [],
    }
    if evaluation.status == "ready" and not evaluation.records:
        entry["status"], entry["why"] = "skipped", "nothing to send"
    delivery.outcome[key] = entry
    if evaluation.status in ERROR_STATUSES or not evaluation.records:
        return
    stored = [stored_record(key, i, version, r) for i, r in enumerate(evaluation.records)]
    delivery.records = [s for s in delivery.records or [] if s["mapping"] != key] + stored
    gates = gates_of(stored)
    for index, record in enumerate(evaluation.records):
        entry["records"].append(record_summary(record))
        # Send what was stored, not the builder's object: the first attempt and every retry then
        # serialise the same value, so their bodies are byte-identical.
        record = record_from_stored(stored[index])
        work.owed.append(
            Owed(
                work=work,
                mapping=key,
                index=index,
                version=version,
                record=record,
                gate=gates.get((key, index)),
                order_key=order_key(record),
            )
        )
