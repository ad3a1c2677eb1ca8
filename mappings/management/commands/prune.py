"""``python manage.py prune``: delete events, rejects and request logs past their retention."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from mappings import delivery


class Command(BaseCommand):
    help = "Delete rows older than the SEGMIX_RETENTION_* settings (also run hourly by beat)."

    def handle(self, *args, **options) -> None:
        counts = delivery.prune()
        self.stdout.write(
            "Deleted " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        )
