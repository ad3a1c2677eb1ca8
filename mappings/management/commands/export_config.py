"""``python manage.py export_config [--with-secrets] > segmix.json``"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from mappings.configuration import export_config
from mappings.jsoncodec import escape_surrogates


class Command(BaseCommand):
    help = (
        "Print sources, destinations and mappings as JSON (secrets masked unless --with-secrets)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--with-secrets",
            action="store_true",
            help="include API secrets and service-account secrets in clear text",
        )

    def handle(self, *args, with_secrets: bool = False, **options) -> None:
        config = export_config(with_secrets=with_secrets)
        # A mapping may hold a lone surrogate (JSON allows the escape); keep it an escape.
        self.stdout.write(escape_surrogates(json.dumps(config, indent=2, ensure_ascii=False)))
