"""A flush's working state: the records each claimed delivery owes Mixpanel, and how they end.

Stored shapes (on :class:`~mappings.models.Delivery`):

* ``records`` / ``pending_records``: lists of *stored records*, ``{"mapping", "index",
  "version", "endpoint", "kind", "insert_id", "idempotent", "gates_following", "isolate",
  "body"}`` where ``body`` is the record's compact JSON **text** (byte-identical on every resend;
  jsonb would reorder keys);
* ``outcome``: per mapping id (a string), ``{"name", "version", "status", "why", "error",
  "error_status", "records": [{"kind", "endpoint", "insert_id", "outcome", "field",
  "message"}]}``, ``records[i]`` describing the record with ``index == i``. Record outcomes are
  ``pending`` (not sent yet), ``delivered``, ``failed``, ``retry``, ``waiting`` (for its
  ``$identify``) and ``deferred`` (behind an older update of the same profile).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..destinations.mixpanel.types import Record
from ..destinations.mixpanel.wire import serialize_record
from ..jsoncodec import loads_exact
from ..models import Delivery

# Record states that keep a delivery open (the record is in ``pending_records``).
OPEN_STATES = frozenset({"pending", "retry", "waiting", "deferred"})
# Mapping statuses from ``evaluation.MappingEvaluation`` that fail the event without records.
ERROR_STATUSES = frozenset({"validation_error", "mapping_error", "invalid_settings", "internal"})
# Replay marks a mapping entry with this status: evaluate that mapping again at the next flush.
EVALUATE_AGAIN = "evaluate"


@dataclass(eq=False)
class Owed:
    """One record a delivery owes Mixpanel during this flush.

    ``state`` starts as ``pending`` and ends as one of the record outcomes above. ``gate`` is the
    index of the ``$identify`` (same delivery, same mapping) this record waits for; ``order_key``
    identifies the profile for per-profile ordering (``None`` for non-profile records).
    """

    work: DeliveryWork
    mapping: str
    index: int
    version: int | None
    record: Record
    gate: int | None = None
    order_key: str | None = None
    state: str = "pending"
    field: str | None = None
    message: str | None = None
    retry_after: float | None = None

    def stored(self) -> dict[str, Any]:
        return stored_record(self.mapping, self.index, self.version, self.record)


@dataclass(eq=False)
class DeliveryWork:
    """A claimed delivery and what this flush did to it."""

    delivery: Delivery
    owed: list[Owed] = field(default_factory=list)
    # Carried by a request that got a real answer (not a pause): an attempt is consumed.
    attempted: bool = False
    last_error: str = ""
    # Set when a profile record waits behind an older update (id ``deferred_behind``): come
    # back no sooner than ``not_before`` (a row outside this flush) or than ``behind`` is due.
    deferred_behind: int | None = None
    not_before: datetime | None = None
    behind: DeliveryWork | None = None

    @property
    def id(self) -> int:
        return self.delivery.pk

    def find(self, mapping: str, index: int) -> Owed | None:
        """This flush's copy of one of the delivery's records, if it is being sent now."""
        for owed in self.owed:
            if owed.mapping == mapping and owed.index == index:
                return owed
        return None


def stored_record(mapping: str, index: int, version: int | None, record: Record) -> dict[str, Any]:
    return {
        "mapping": mapping,
        "index": index,
        "version": version,
        "endpoint": record.endpoint,
        "kind": record.kind,
        "insert_id": record.insert_id,
        "idempotent": record.idempotent,
        "gates_following": record.gates_following,
        "isolate": record.isolate,
        "body": serialize_record(record.body).decode("utf-8"),
    }


def record_from_stored(stored: dict[str, Any]) -> Record:
    """The exact record that was built (``loads_exact`` keeps big integers exact)."""
    return Record(
        endpoint=stored["endpoint"],
        body=loads_exact(stored["body"]),
        kind=stored["kind"],
        insert_id=stored.get("insert_id"),
        idempotent=stored.get("idempotent", True),
        gates_following=stored.get("gates_following", False),
        isolate=stored.get("isolate", False),
    )


def record_summary(record: Record, outcome: str = "pending") -> dict[str, Any]:
    return {
        "kind": record.kind,
        "endpoint": record.endpoint,
        "insert_id": record.insert_id,
        "outcome": outcome,
        "field": None,
        "message": None,
    }


def order_key(record: Record) -> str | None:
    """Which profile a ``/engage`` or ``/groups`` record updates (hashed), else ``None``."""
    body = record.body
    if record.endpoint == "engage":
        ident: list[Any] = ["engage", body.get("$distinct_id")]
    elif record.endpoint == "groups":
        ident = ["groups", body.get("$group_key"), body.get("$group_id")]
    else:
        return None
    text = json.dumps(ident, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def gates_of(stored_records: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    """``(mapping, index) -> index of its gate``: records after an original-mode ``$identify``
    in the same mapping wait for it (``Record.gates_following``)."""
    gates: dict[tuple[str, int], int] = {}
    current: dict[str, int] = {}
    for stored in sorted(stored_records, key=lambda s: (s["mapping"], s["index"])):
        mapping = stored["mapping"]
        if stored.get("gates_following"):
            current[mapping] = stored["index"]
        elif mapping in current:
            gates[(mapping, stored["index"])] = current[mapping]
    return gates


def owed_from_stored(work: DeliveryWork, stored_records: list[dict[str, Any]]) -> list[Owed]:
    """Rebuild the records a delivery still owes from its ``pending_records``."""
    gates = gates_of(work.delivery.records or stored_records)
    owed = []
    for stored in stored_records:
        record = record_from_stored(stored)
        owed.append(
            Owed(
                work=work,
                mapping=stored["mapping"],
                index=stored["index"],
                version=stored.get("version"),
                record=record,
                gate=gates.get((stored["mapping"], stored["index"])),
                order_key=order_key(record),
            )
        )
    return owed


def stored_outcome(delivery: Delivery, mapping: str, index: int) -> str | None:
    """The recorded outcome of one record (``None`` when unknown)."""
    entry = (delivery.outcome or {}).get(mapping) or {}
    records = entry.get("records") or []
    return records[index]["outcome"] if 0 <= index < len(records) else None


def apply_states(work: DeliveryWork) -> None:
    """Copy this flush's record states into ``delivery.outcome``."""
    outcome = work.delivery.outcome
    for owed in work.owed:
        entry = outcome.setdefault(owed.mapping, {"records": []})
        records = entry.setdefault("records", [])
        while len(records) <= owed.index:
            records.append(record_summary(owed.record))
        records[owed.index].update(outcome=owed.state, field=owed.field, message=owed.message)


@dataclass(frozen=True)
class Settled:
    """What a delivery's record outcomes add up to. ``status`` is a ``Delivery`` status."""

    status: str
    reason: str
    open: bool


def settle(delivery: Delivery) -> Settled:
    """The delivery's status and reason from its ``outcome`` (spec §14.4 aggregation).

    Open records keep it ``retrying``/``pending`` (decided by the caller, which knows about
    retries and pauses); otherwise ``delivered`` / ``partially_delivered`` / ``failed`` over every
    record of every mapping (a mapping that failed validation counts as one failed record), and
    ``skipped`` / ``filtered`` when nothing was to be sent.
    """
    entries = list((delivery.outcome or {}).values())
    records = [r for e in entries for r in e.get("records") or []]
    if any(r["outcome"] in OPEN_STATES for r in records):
        return Settled(Delivery.RETRYING, "", open=True)
    errors = [e for e in entries if e.get("status") in ERROR_STATUSES]
    failed = [r for r in records if r["outcome"] == "failed"]
    failures = [str(e.get("error") or "failed") for e in errors]
    if failed and (len(records) == 1 or _all_alike(failed, records)):
        failures.append(_record_failure(failed[0]))  # e.g. "retries exhausted" for them all
    else:
        # Name each record, so a partial failure says which one failed.
        failures.extend(f"{r['kind']}: {_record_failure(r)}" for r in failed)
    delivered = sum(1 for r in records if r["outcome"] == "delivered")
    if records or errors:
        if not failures:
            return Settled(Delivery.DELIVERED, "", open=False)
        status = Delivery.PARTIAL if delivered else Delivery.FAILED
        return Settled(status, _join(failures), open=False)
    skipped = [e for e in entries if e.get("status") == "skipped"]
    if skipped:
        return Settled(Delivery.SKIPPED, _join([e.get("why") or "skipped" for e in skipped]), False)
    blocked = [e for e in entries if e.get("status") == "filtered_integrations"]
    if blocked:
        return Settled(Delivery.FILTERED, str(blocked[0].get("why")), open=False)
    return Settled(Delivery.FILTERED, "no matching mapping", open=False)


def _record_failure(record: dict[str, Any]) -> str:
    message = record.get("message") or "failed"
    return f"{record['field']}: {message}" if record.get("field") else message


def _all_alike(failed: list[dict[str, Any]], records: list[dict[str, Any]]) -> bool:
    return len(failed) == len(records) and len({_record_failure(r) for r in failed}) == 1


def _join(messages: list[str]) -> str:
    unique = list(dict.fromkeys(messages))
    return "; ".join(unique)
