"""``python manage.py replay --destination NAME --since … [--until …] [--status failed|all]
[--dry-run] [--no-flush]``

Puts matching deliveries back in the outbox (their stored records are resent as they were, so
``$insert_id``s are unchanged) and flushes them, printing progress. Times are ISO 8601 dates or
datetimes (UTC unless they carry an offset) or ages such as ``90m``, ``6h``, ``2d``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from mappings import delivery
from mappings.delivery.claim import is_paused
from mappings.delivery.replay import STATUS_CHOICES
from mappings.models import Delivery, Destination

_AGE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_moment(text: str, now: datetime) -> datetime:
    """An ISO date/datetime (naive means UTC) or an age (``6h`` = six hours ago)."""
    text = text.strip()
    if match := _AGE.match(text):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = datetime(day.year, day.month, day.day)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"not a date, datetime or age (like 6h): {text!r}")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Redeliver a destination's finished deliveries (by default the failed ones)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--destination", required=True, help="destination name")
        parser.add_argument("--since", required=True, help="events received from (inclusive)")
        parser.add_argument("--until", help="events received before (default: now)")
        parser.add_argument("--status", choices=STATUS_CHOICES, default="failed")
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")
        parser.add_argument(
            "--no-flush", action="store_true", help="leave the sending to the workers"
        )

    def handle(self, *args, **options) -> None:
        try:
            destination = Destination.objects.get(name=options["destination"])
        except Destination.DoesNotExist as exc:
            raise CommandError(f"no destination named {options['destination']!r}") from exc
        now = timezone.now()
        since = parse_moment(options["since"], now)
        until = parse_moment(options["until"], now) if options["until"] else now
        if since >= until:
            raise CommandError("--since must be before --until")
        dry_run = options["dry_run"]
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}replaying {options['status']} deliveries of "
            f"{destination.name!r} for events received {since.isoformat()} … {until.isoformat()}"
        )
        summary, ids = delivery.replay(
            destination,
            since=since,
            until=until,
            status=options["status"],
            dry_run=dry_run,
            progress=lambda done, total: self.stdout.write(f"  reset {done}/{total}"),
        )
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{summary.deliveries} deliveries {verb} put back: {summary.records} stored records "
            f"to resend, {summary.evaluations} to evaluate again"
        )
        if dry_run or not ids:
            return
        if options["no_flush"] or not destination.enabled or is_paused(destination):
            if not destination.enabled or is_paused(destination):
                self.stdout.write("The destination is disabled or paused: nothing sent now.")
            delivery.schedule_flush(destination.pk)
            return
        self._flush(destination, ids)

    def _flush(self, destination: Destination, ids: list[int]) -> None:
        sent = 0
        while True:
            report = delivery.flush(destination)
            sent += report.claimed
            if report.claimed:
                left = Delivery.objects.filter(id__in=ids, status=Delivery.PENDING).count()
                self.stdout.write(
                    f"  flushed {sent} ({report.requests} requests); {left} still pending"
                )
            if report.paused:
                self.stdout.write(self.style.ERROR(f"Destination paused: {report.paused}"))
                break
            if report.skipped == "busy":
                self.stdout.write(
                    "A worker is flushing this destination; it delivers the replayed rows."
                )
                break
            if not report.more_due or not report.claimed:
                break
        counts = Counter(Delivery.objects.filter(id__in=ids).values_list("status", flat=True))
        self.stdout.write(
            "Result: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
