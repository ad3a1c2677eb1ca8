"""``python manage.py rotate_secrets``: re-encrypt stored secrets with the newest key."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from mappings import crypto
from mappings.models import Destination


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of SEGMIX_ENCRYPTION_KEY. Run it "
        "after putting a new key first; then the old keys can be removed."
    )

    def handle(self, *args, **options) -> None:
        rotated = 0
        with transaction.atomic():
            for destination in Destination.objects.select_for_update().exclude(encrypted_secrets=""):
                destination.encrypted_secrets = crypto.rotate(destination.encrypted_secrets)
                destination.save(update_fields=["encrypted_secrets", "updated_at"])
                rotated += 1
        self.stdout.write(f"Re-encrypted the secrets of {rotated} destination(s).")
