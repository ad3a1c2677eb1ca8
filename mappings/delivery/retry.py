"""When to try again (spec §15): backoff with jitter, ``Retry-After``, the retry window.

The arithmetic lives in ``destinations.mixpanel.responses`` (pure); this module applies it to a
delivery.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings

from ..destinations.mixpanel.responses import (
    Verdict,
    backoff_delay,
    retry_window_exhausted,
)
from .work import DeliveryWork, Owed

RETRIES_EXHAUSTED = "retries exhausted"
# A deferred profile update looks again no sooner than this, so two flushes never spin on it.
DEFER_MIN_SECONDS = 1.0

_rng = random.Random()


class FlushJitter:
    """One jitter draw shared by every delivery saved together.

    Records that failed in one request then come due at the same moment and are retried in one
    request again, instead of being scattered over several by per-delivery jitter. Different
    flushes still draw different jitter, which is what keeps clients out of lockstep.
    """

    def __init__(self, rng: random.Random = _rng) -> None:
        self.fraction = rng.random()

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.fraction


def retry_window_seconds() -> float:
    return float(settings.SEGMIX_RETRY_WINDOW)


def mark_retry(owed: Owed, verdict: Verdict, now: datetime) -> None:
    """A transient failure: retry later, or fail for good once the retry window has passed."""
    delivery = owed.work.delivery
    first = delivery.first_attempt_at or now
    if retry_window_exhausted(first, now, retry_window_seconds()):
        owed.state, owed.field = "failed", None
        owed.message = f"{RETRIES_EXHAUSTED}; last answer: {verdict.message}"
        return
    owed.state, owed.message, owed.retry_after = (
        "retry",
        verdict.message,
        verdict.retry_after_seconds,
    )
    owed.work.last_error = verdict.message


def next_attempt_at(
    work: DeliveryWork, now: datetime, attempts: int, jitter: FlushJitter | None = None
) -> datetime:
    """When an open delivery is due again; ``now`` is when Mixpanel's answer was in hand.

    Records waiting for a retry: ``backoff_delay(attempts, Retry-After)`` from now. Records
    deferred behind an older update of the same profile: not before that one is due. Anything
    else (a pause, a flush cut short) is due now.
    """
    due = now
    retrying = [o for o in work.owed if o.state == "retry"]
    if retrying:
        after = [o.retry_after for o in retrying if o.retry_after is not None]
        delay = backoff_delay(max(attempts, 1), max(after) if after else None, jitter or _rng)
        due = now + timedelta(seconds=delay)
    if work.deferred_behind is not None:
        # ``behind`` was saved first (deliveries are saved oldest first), so its time is final.
        after = work.behind.delivery.next_attempt_at if work.behind else work.not_before
        due = max(due, after or now, now + timedelta(seconds=DEFER_MIN_SECONDS))
    return due
