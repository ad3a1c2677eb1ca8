"""Configuration changes the e2e tests make through segmix's own functions and models.

Runs inside the stack's environment (its database and encryption key) as one long-lived process,
so Django boots once per session::

    python -m tests.e2e.ops

reads one JSON request per line (``{"command": …, "payload": {…}}``) and answers each with one
JSON line, ``{"result": …}`` or ``{"error": "<traceback>"}``. Commands:

* ``create`` ``{"source", "destinations": [{"name", "settings", "mappings": [...]}]}``: a source
  and enabled destinations fed by it, each with the six presets (``create_destination``) plus
  any extra mapping (``{"name", "trigger", "action"}``, the action's default mapping).
* ``save_settings`` ``{"destination", "settings"}``: merge ``settings`` into the destination's and
  save the model, as the console's settings form does.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any


def create(payload: dict[str, Any]) -> dict[str, Any]:
    from mappings.configuration import create_destination, save_mapping
    from mappings.destinations.mixpanel.actions import default_mapping
    from mappings.models import Mapping, Source

    source = Source.objects.create(name=payload["source"])
    destinations = {}
    for item in payload["destinations"]:
        destination = create_destination(
            item["name"], item["settings"], sources=[source], enabled=True
        )
        for position, extra in enumerate(item.get("mappings", []), start=100):
            save_mapping(
                Mapping(
                    destination=destination,
                    name=extra["name"],
                    trigger=extra["trigger"],
                    action=extra["action"],
                    mapping=default_mapping(extra["action"]),
                    enabled=True,
                    position=position,
                ),
                saved_by="e2e",
            )
        destinations[item["name"]] = destination.pk
    return {"source_id": source.pk, "write_key": source.write_key, "destinations": destinations}


def save_settings(payload: dict[str, Any]) -> dict[str, Any]:
    from mappings.destinations.mixpanel.settings_schema import validate_settings
    from mappings.models import Destination

    destination = Destination.objects.get(pk=payload["destination"])
    settings = {**destination.all_settings(), **payload["settings"]}
    validate_settings(settings)
    destination.set_all_settings(settings)
    destination.save()
    return {"destination": destination.pk, "updated_at": destination.updated_at.isoformat()}


COMMANDS = {"create": create, "save_settings": save_settings}


def serve() -> None:
    import django

    django.setup()
    from django.db import connections

    for line in sys.stdin:
        request = json.loads(line)
        try:
            # A fresh connection per command: the database may have been down in between.
            connections.close_all()
            answer = {"result": COMMANDS[request["command"]](request["payload"])}
        except Exception:
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
