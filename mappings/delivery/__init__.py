"""Delivery to Mixpanel (Celery workers): the outbox's consumer. Design: ``docs/pipeline.md``.

* :func:`flush` — claim due deliveries of one destination, evaluate, send, classify, record;
* :func:`schedule_flush` — the linger-window hint ingest calls after commit (never raises);
* :func:`relay` — re-enqueue every destination with due rows (Celery beat);
* :func:`prune` — retention; :func:`replay` — redrive finished deliveries;
* :func:`resume` — un-pause a destination paused by a 401/403;
* :func:`send_test_event` — the console's "Send test event".
"""

from __future__ import annotations

from .flush import FlushReport, flush, resume
from .prune import prune
from .replay import ReplaySummary, replay
from .schedule import enqueue_flush_now, relay, schedule_flush
from .test_send import SendTestResult, send_test_event

__all__ = [
    "FlushReport",
    "ReplaySummary",
    "SendTestResult",
    "enqueue_flush_now",
    "flush",
    "prune",
    "relay",
    "replay",
    "resume",
    "schedule_flush",
    "send_test_event",
]
