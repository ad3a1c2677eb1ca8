"""``python manage.py preview --destination NAME [EVENTS.jsonl]``

For each Segment event (one JSON object per line; standard input when no file is given) print one
JSON line with each enabled mapping's verdict and the exact requests delivery would send for that
event alone. No network, no database writes.
"""

from __future__ import annotations

import json
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mappings.http import USER_AGENT
from mappings.ingest.timestamps import parse_timestamp_ms
from mappings.models import Destination
from mappings.plans import plan_for
from mappings.preview import preview_event


class Command(BaseCommand):
    help = "Show, per event, which mappings match and the exact Mixpanel requests they would send."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--destination", required=True, help="destination name")
        parser.add_argument("events", nargs="?", help="a JSON-lines file of Segment events")

    def handle(self, *args, destination: str, events: str | None, **options) -> None:
        target = Destination.objects.filter(name=destination).first()
        if target is None:
            names = ", ".join(Destination.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"no destination named {destination!r} (existing: {names})")
        plan = plan_for(target)
        if plan.settings_errors:
            self.stderr.write("destination settings are invalid: " + " ".join(plan.settings_errors))
        try:
            stream = open(events, encoding="utf-8") if events else sys.stdin
        except OSError as exc:
            raise CommandError(f"cannot read {events}: {exc.strerror}") from exc
        with stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError as exc:
                    self.stdout.write(json.dumps({"line": number, "error": f"invalid JSON: {exc}"}))
                    continue
                now_ms = int(time.time() * 1000)
                # An event copied from the debugger carries its stored receivedAt; an ad-hoc
                # payload gets "now", as the console preview does (spec §13).
                received = event.get("receivedAt") if isinstance(event, dict) else None
                received_at_ms = parse_timestamp_ms(received) if isinstance(received, str) else None
                document = preview_event(
                    event,
                    plan,
                    stored_event_id=str(event.get("messageId") or f"preview-{number}")
                    if isinstance(event, dict)
                    else f"preview-{number}",
                    received_at_ms=received_at_ms or now_ms,
                    now_ms=now_ms,
                    api_url_override=settings.SEGMIX_MIXPANEL_API_URL or None,
                    user_agent=USER_AGENT,
                    import_max_bytes=settings.SEGMIX_MIXPANEL_IMPORT_MAX_BYTES,
                    profile_batch_size=settings.SEGMIX_MIXPANEL_PROFILE_BATCH_SIZE,
                )
                self.stdout.write(json.dumps(document, ensure_ascii=False))
