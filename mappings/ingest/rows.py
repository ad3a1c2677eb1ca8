"""Bulk row writes built from model metadata, for the ingest transaction (``store``).

Why not ``bulk_create``: it instantiates a model per row and serialises every JSON field with the
stdlib encoder; ingest already holds database-ready values and serialises JSON once with orjson.
On PostgreSQL, ``bulk_insert`` uses ``COPY``: psycopg formats COPY rows in C, while a multi-row
``INSERT`` with thousands of parameters costs several times more client CPU to merge. Columns a
caller leaves out get the model default, so fields added to a model later need no change in the
callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, models

from mappings.ingest.jsontools import dumps_compact

INSERT_CHUNK = 500  # rows per INSERT: stays under SQLite's 32,766 bound parameters


def q(name: str) -> str:
    """``name`` quoted as an identifier for the current database."""
    return connection.ops.quote_name(name)


def layout(model: type[models.Model]) -> tuple[list[models.Field], str, str]:
    """The insertable fields of ``model``, its column list and one row of placeholders."""
    key = (model, connection.vendor)
    found = _LAYOUTS.get(key)
    if found is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
        columns = ", ".join(q(f.column) for f in fields)
        marks = ", ".join(
            f"%s{json_cast}" if isinstance(f, models.JSONField) else "%s" for f in fields
        )
        found = _LAYOUTS[key] = (fields, columns, f"({marks})")
    return found


_LAYOUTS: dict[tuple[type[models.Model], str], tuple[list[models.Field], str, str]] = {}


def db_value(field: models.Field, value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return None if value is None and field.null else dumps_compact(value).decode()
    return field.get_db_prep_save(value, connection)


def prepared(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (by attname) converted for the database one by one: for single rows."""
    fields = {f.attname: f for f in layout(model)[0]}
    return {name: db_value(fields[name], value) for name, value in values.items()}


def bulk_insert(
    cursor: Any, model: type[models.Model], rows: list[dict[str, Any]], key: str | None = None
) -> dict[Any, int]:
    """Append ``rows``; with ``key``, return ``row[key] → new id`` (``key`` unique in ``rows``).

    PostgreSQL: ids come from the table's sequence first (one query), then one ``COPY``. Others:
    multi-row ``INSERT … RETURNING``. A unique violation raises Django's ``IntegrityError``.
    """
    if not rows:
        return {}
    if connection.vendor != "postgresql":
        returned = insert(cursor, model, rows, f"{q('id')}, {q(key)}" if key else None)
        return {value: pk for pk, value in returned}
    fields, _columns, _marks = layout(model)
    defaults = [(f.attname, db_value(f, f.get_default())) for f in fields]
    names = [f.column for f in fields]
    ids: list[int] = []
    if key:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [q(model._meta.db_table), len(rows)],
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
        names.insert(0, "id")
    statement = f"COPY {q(model._meta.db_table)} ({', '.join(q(n) for n in names)}) FROM STDIN"
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for index, row in enumerate(rows):
            values = [row[name] if name in row else default for name, default in defaults]
            if key:
                values.insert(0, ids[index])
            copy.write_row(values)
    return {row[key]: ids[index] for index, row in enumerate(rows)} if key else {}


def insert(
    cursor: Any,
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    returning: str | None = None,
    *,
    on_conflict: str = "",
) -> list[tuple[Any, ...]]:
    """Multi-row ``INSERT`` of ``rows`` (attname → database-ready value, JSON as text).

    Missing columns get the model default. Keys that are not attnames are ignored. Returns the
    ``RETURNING`` rows when ``returning`` names columns.
    """
    fields, columns, placeholder = layout(model)
    defaults = [(f.attname, db_value(f, f.get_default())) for f in fields]
    table = q(model._meta.db_table)
    suffix = f" {on_conflict}" if on_conflict else ""
    if returning:
        suffix += f" RETURNING {returning}"
    out: list[tuple[Any, ...]] = []
    rows = list(rows)
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        params: list[Any] = []
        for row in chunk:
            params.extend(row[name] if name in row else default for name, default in defaults)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(chunk))}"
            + suffix,
            params,
        )
        if returning:
            out.extend(cursor.fetchall())
    return out
