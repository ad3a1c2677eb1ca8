"""``python manage.py import_config segmix.json`` (``-`` reads standard input)."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from mappings.configuration import ConfigError, import_config


class Command(BaseCommand):
    help = (
        "Create or update sources, destinations and mappings from a JSON file. Validates "
        "everything first and changes nothing on any error."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="the config file, or - for standard input")

    def handle(self, *args, path: str, **options) -> None:
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        try:
            counts = import_config(config)
        except ConfigError as exc:
            lines = "\n".join(f"  - {m}" for m in exc.messages)
            raise CommandError(f"{path} was not imported; nothing changed:\n{lines}") from exc
        self.stdout.write(
            "Imported {path}: {sources} source(s), {destinations} destination(s) and {mappings} "
            "mapping(s) created or changed, {mappings_deleted} mapping(s) removed.".format(
                path=path, **counts
            )
        )
