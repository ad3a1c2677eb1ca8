"""Model fields."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from mappings.jsoncodec import dumps_compact


class OrderedJSONField(models.JSONField):
    """A JSONField that keeps object key order on PostgreSQL too.

    PostgreSQL's ``jsonb`` (Django's default) reorders keys; ``json`` stores the text as given.
    Key order is part of what users wrote: a mapping's keys decide the order of mapping-kit's
    validation messages and of the objects it builds, and the editor, version diffs and
    ``export_config`` should show a mapping as it was saved. Nothing queries inside these
    columns, so ``jsonb``'s operators are not needed.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor == "postgresql" and value is not None:
            # Django sends a ``Jsonb`` parameter, and the cast from jsonb would reorder keys
            # before they reach the ``json`` column: send ``json`` text instead.
            from psycopg.types.json import Json

            if self.encoder is None:
                return Json(value, dumps=_dumps)
            return Json(value, dumps=lambda obj: json.dumps(obj, cls=self.encoder))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg already decodes ``json`` columns (in key order); only text needs decoding.
        if value is None or not isinstance(value, str | bytes):
            return value
        return super().from_db_value(value, expression, connection)


def _dumps(value: Any) -> bytes:
    """Compact JSON for a ``json`` column (psycopg takes the bytes as they are)."""
    return dumps_compact(value)
