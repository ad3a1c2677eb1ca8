"""Mixpanel's answers → what happened to each record (spec §14.4, §14.5, §15). Pure.

``classify`` reads one response (or a transport error) for one ``PreparedRequest`` and says, per
record position, whether it was delivered, failed for good, must be retried or resent alone. The
delivery layer acts on the verdict; the "Send test event" panel shows it without acting.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from .wire import PreparedRequest

VerdictClass = Literal[
    "delivered", "partial", "record_failure", "retry", "split", "pause", "failed"
]
Outcome = Literal["delivered", "failed", "retry", "resend_alone"]

RETRY_AFTER_CAP_SECONDS = 600
RETRYABLE_STATUSES = frozenset({408, 410, 429, 460})
NOT_RETRYABLE_5XX = frozenset({501, 505})
PAUSE_ALERT = "Mixpanel rejected the credentials"
BUG_ALERT = (
    "Mixpanel answered 400 without failed_records: the request was malformed (a bug on our side)"
)


@dataclass(frozen=True)
class RecordOutcome:
    """What happened to one record. ``field``/``message`` explain a failure (Mixpanel's words)."""

    outcome: Outcome
    field: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The classification of one attempt.

    ``records[k]`` is the outcome of ``request.records[k]``. ``retry_after_seconds`` is set only
    for ``retry`` when the server sent ``Retry-After`` (capped at 600). ``anomalies`` are things
    that should not happen and deserve a log line; ``alert`` is set when a human must act
    (``pause``, or a 400 that means our request was malformed).
    """

    kind: VerdictClass
    status: int | None
    records: tuple[RecordOutcome, ...]
    message: str
    retry_after_seconds: float | None = None
    anomalies: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    alert: str | None = None

    def outcomes(self) -> dict[int, RecordOutcome]:
        return dict(enumerate(self.records))


def classify(
    request: PreparedRequest,
    status: int | None,
    headers: Mapping[str, str] | None,
    body: bytes | str | None,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Classify one attempt. ``status=None`` means no HTTP answer (timeout or connection error,
    described by ``error``). Never raises on odd bodies: they become anomalies."""
    n = len(request.records)
    text = _text(body)
    payload = _json(text)
    error_text = _error_text(payload, text)

    def every(outcome: Outcome, message: str | None = None) -> tuple[RecordOutcome, ...]:
        return tuple(RecordOutcome(outcome, message=message) for _ in range(n))

    if status is None:
        message = f"No response from Mixpanel: {error or 'connection failed'}"
        return Verdict("retry", None, every("retry"), message)
    if 200 <= status < 300 or (status == 400 and request.endpoint == "import"):
        if request.endpoint == "import":
            return _import_answer(request, status, payload, error_text)
        return _profile_answer(request, status, payload, text)
    summary = f"HTTP {status}" + (f": {error_text}" if error_text else "")
    if status in RETRYABLE_STATUSES or (500 <= status < 600 and status not in NOT_RETRYABLE_5XX):
        after = retry_after_seconds(_header(headers, "Retry-After"), now=now)
        return Verdict("retry", status, every("retry"), summary, retry_after_seconds=after)
    if status == 413:
        if n > 1:
            return Verdict("split", status, every("retry"), f"{summary} (splitting the request)")
        return Verdict("failed", status, every("failed", "record too large"), "record too large")
    if status in (401, 403):
        return Verdict("pause", status, every("retry"), summary, alert=PAUSE_ALERT)
    return Verdict("failed", status, every("failed", summary), summary)


def _import_answer(
    request: PreparedRequest, status: int, payload: Any, error_text: str | None
) -> Verdict:
    n = len(request.records)
    failed = payload.get("failed_records") if isinstance(payload, dict) else None
    imported = payload.get("num_records_imported") if isinstance(payload, dict) else None
    anomalies: list[str] = []
    notes: list[str] = []
    if not (isinstance(failed, list) and failed):
        if status == 400:
            message = f"HTTP 400: {error_text or 'no failed_records'}"
            outcomes = tuple(RecordOutcome("failed", message=message) for _ in range(n))
            return Verdict(
                "failed", status, outcomes, message, anomalies=(BUG_ALERT,), alert=BUG_ALERT
            )
        if not isinstance(payload, dict):
            anomalies.append(f"unexpected /import {status} body; treated as delivered")
        _count_check(request, imported, n, anomalies, notes)
        outcomes = tuple(RecordOutcome("delivered") for _ in range(n))
        return Verdict(
            "delivered",
            status,
            outcomes,
            f"HTTP {status}: {n} records imported",
            anomalies=tuple(anomalies),
            notes=tuple(notes),
        )

    failures: dict[int, RecordOutcome] = {}
    for entry in failed:
        index = _attribute(request, entry, anomalies)
        if index is None:
            continue
        field = _str_or_none(entry.get("field"))
        message = _str_or_none(entry.get("message")) or "rejected by Mixpanel"
        if index in failures:  # several problems with one record: keep them all
            earlier = failures[index]
            message = f"{earlier.message}; {message}"
            field = earlier.field or field
        failures[index] = RecordOutcome("failed", field=field, message=message)
    outcomes = tuple(failures.get(k, RecordOutcome("delivered")) for k in range(n))
    delivered = n - len(failures)
    _count_check(request, imported, delivered, anomalies, notes)
    message = f"HTTP {status}: {len(failures)} of {n} records failed validation"
    return Verdict(
        "partial", status, outcomes, message, anomalies=tuple(anomalies), notes=tuple(notes)
    )


def _attribute(request: PreparedRequest, entry: Any, anomalies: list[str]) -> int | None:
    """The manifest position a ``failed_records`` entry refers to (§14.4)."""
    if not isinstance(entry, dict):
        anomalies.append(f"failed_records entry is not an object: {entry!r}")
        return None
    index = entry.get("index")
    reported = entry.get("insert_id", entry.get("$insert_id"))
    n = len(request.records)
    in_range = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < n
    if in_range and (reported is None or _insert_id(request, index) == reported):
        return index
    matches = [k for k in range(n) if reported is not None and _insert_id(request, k) == reported]
    if len(matches) == 1:
        anomalies.append(
            f"failed_records index {index!r} does not match insert_id {reported!r}; "
            f"attributed to position {matches[0]} by insert_id"
        )
        return matches[0]
    if in_range:
        anomalies.append(
            f"failed_records index {index} does not match insert_id {reported!r} "
            f"({len(matches)} records carry it); kept the index"
        )
        return index
    anomalies.append(f"failed_records entry {entry!r} matches no record in the request")
    return None


def _insert_id(request: PreparedRequest, k: int) -> Any:
    record = request.records[k]
    if record.insert_id is not None:
        return record.insert_id
    properties = record.body.get("properties") if isinstance(record.body, dict) else None
    return properties.get("$insert_id") if isinstance(properties, dict) else None


def _count_check(
    request: PreparedRequest, imported: Any, delivered: int, anomalies: list[str], notes: list[str]
) -> None:
    if not isinstance(imported, int) or isinstance(imported, bool) or imported == delivered:
        return
    strict = parse_qs(urlsplit(request.url).query).get("strict", ["1"])[0]
    if strict == "0" and imported < delivered:
        notes.append(f"{delivered - imported} records silently dropped (strict mode off)")
    else:
        anomalies.append(
            f"num_records_imported is {imported} but {delivered} records were delivered"
        )


def _profile_answer(request: PreparedRequest, status: int, payload: Any, text: str) -> Verdict:
    """§14.5: ``/engage``, ``/groups`` and ``/track`` answer 200 and put the verdict in the body."""
    n = len(request.records)
    if isinstance(payload, dict) and "status" in payload:
        ok, error = payload.get("status"), _str_or_none(payload.get("error"))
    else:
        ok, error = payload, None
    if ok in (1, "1"):
        outcomes = tuple(RecordOutcome("delivered") for _ in range(n))
        return Verdict("delivered", status, outcomes, f"HTTP {status}: accepted")
    if ok not in (0, "0"):
        outcomes = tuple(RecordOutcome("delivered") for _ in range(n))
        anomaly = (
            f"unexpected /{request.endpoint} {status} body {text[:200]!r}; treated as delivered"
        )
        return Verdict("delivered", status, outcomes, f"HTTP {status}", anomalies=(anomaly,))
    reason = error or "Mixpanel answered 0 (rejected)"
    if n == 1:
        return Verdict("failed", status, (RecordOutcome("failed", message=reason),), reason)
    # Mixpanel's docs disagree on whether 0 means "none valid" or "some invalid" (UNCONFIRMED):
    # resend what is safe to resend, one record per request; $add could double count.
    outcomes = tuple(
        RecordOutcome("resend_alone")
        if record.idempotent
        else RecordOutcome("failed", message=reason)
        for record in request.records
    )
    return Verdict("record_failure", status, outcomes, f"HTTP {status}: {reason}")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date), capped at 10 minutes."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return float(min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS))


def backoff_delay(
    attempt: int, retry_after: float | None, rng: random.Random | None = None
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (§15, Mixpanel's advice).

    ``min(60, 2 * 2**(attempt - 1)) + uniform(1, 5)``, and at least ``Retry-After`` (capped 600).
    """
    rng = rng or random.Random()
    exponent = max(0, min(int(attempt), 32) - 1)
    delay = min(60.0, 2.0 * 2**exponent) + rng.uniform(1, 5)
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), RETRY_AFTER_CAP_SECONDS))
    return delay


def retry_window_exhausted(
    first_attempt_at: datetime, now: datetime, window_seconds: float
) -> bool:
    """True once ``SEGMIX_RETRY_WINDOW`` has passed since the first attempt: fail for good."""
    return (now - first_attempt_at).total_seconds() >= window_seconds


def aggregate_event_status(
    outcomes: Iterable[RecordOutcome | str],
) -> Literal["delivered", "partially_delivered", "failed", "pending"]:
    """One Segment event's status from its records' outcomes (§14.4).

    ``pending`` while any record still waits for a retry or a resend; raises ``ValueError`` for an
    event without records (skipped events are decided elsewhere).
    """
    names = [o.outcome if isinstance(o, RecordOutcome) else o for o in outcomes]
    if not names:
        raise ValueError("an event with no records has no delivery status")
    if any(name in ("retry", "resend_alone") for name in names):
        return "pending"
    delivered = sum(1 for name in names if name == "delivered")
    if delivered == len(names):
        return "delivered"
    return "partially_delivered" if delivered else "failed"


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error_text(payload: Any, text: str) -> str | None:
    if isinstance(payload, dict):
        error = payload.get("error")
        if error:
            return str(error)
    stripped = text.strip()
    return stripped[:500] or None


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
