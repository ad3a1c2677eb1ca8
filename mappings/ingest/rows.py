"""Bulk row writes built from model metadata, for the ingest transaction (``store``).

Why not ``bulk_create``: it instantiates a model per row and serialises every JSON field with the
stdlib encoder; ingest already holds database-ready values and serialises JSON once with orjson.
On PostgreSQL, ``copy_rows`` uses ``COPY``: psycopg formats COPY rows in C, while a multi-row
``INSERT`` with thousands of parameters costs several times more client CPU to merge. Columns a
caller leaves out get the model default, so fields added to a model later need no change in the
callers. Table layouts and static defaults are worked out once per model, not per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from mappings.jsoncodec import dumps_compact

INSERT_CHUNK = 500  # rows per INSERT: stays under SQLite's 32,766 bound parameters


def q(name: str) -> str:
    """``name`` quoted as an identifier for the current database."""
    return connection.ops.quote_name(name)


@dataclass(frozen=True, slots=True)
class Layout:
    """The insertable fields of a model on the current database, and their defaults."""

    table: str  # quoted
    fields: tuple[models.Field, ...]
    columns: str  # quoted, comma-separated, in ``fields`` order
    placeholder: str  # one row of placeholders, ``%s::json`` for JSON on PostgreSQL
    by_attname: dict[str, models.Field]
    static_defaults: dict[str, Any]  # attname → database value, for plain defaults
    dynamic_defaults: tuple[models.Field, ...]  # callable defaults (``timezone.now``)

    def defaults(self) -> dict[str, Any]:
        """attname → database value of every field's default; callables are called now."""
        if not self.dynamic_defaults:
            return self.static_defaults
        now = {f.attname: db_value(f, f.get_default()) for f in self.dynamic_defaults}
        return {**self.static_defaults, **now}


def layout(model: type[models.Model]) -> Layout:
    key = (model, connection.vendor)
    found = _LAYOUTS.get(key)
    if found is None:
        fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
        # JSON goes as text, cast to the column's own type (``json`` keeps key order).
        marks = ", ".join(
            f"%s::{f.db_type(connection)}"
            if isinstance(f, models.JSONField) and connection.vendor == "postgresql"
            else "%s"
            for f in fields
        )
        dynamic = tuple(f for f in fields if f.has_default() and callable(f.default))
        found = _LAYOUTS[key] = Layout(
            table=q(model._meta.db_table),
            fields=fields,
            columns=", ".join(q(f.column) for f in fields),
            placeholder=f"({marks})",
            by_attname={f.attname: f for f in fields},
            static_defaults={
                f.attname: db_value(f, f.get_default()) for f in fields if f not in dynamic
            },
            dynamic_defaults=dynamic,
        )
    return found


_LAYOUTS: dict[tuple[type[models.Model], str], Layout] = {}


def db_value(field: models.Field, value: Any) -> Any:
    if isinstance(field, models.JSONField):
        return None if value is None and field.null else dumps_compact(value).decode()
    return field.get_db_prep_save(value, connection)


def prepared(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (by attname) converted for the database one by one: for single rows."""
    fields = layout(model).by_attname
    return {name: db_value(fields[name], value) for name, value in values.items()}


def copy_rows(
    cursor: Any,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """PostgreSQL only: ``COPY`` ``rows`` (database values in ``columns`` order, by attname;
    ``id`` allowed) into ``model``'s table; every other column gets its default.

    A unique violation raises Django's ``IntegrityError``.
    """
    found = layout(model)
    key = (model, tuple(columns))
    plan = _COPY_PLANS.get(key)
    if plan is None:
        rest = tuple(f for f in found.fields if f.attname not in columns)
        names = [q(model._meta.get_field(c).column) for c in columns] + [q(f.column) for f in rest]
        plan = _COPY_PLANS[key] = (f"COPY {found.table} ({', '.join(names)}) FROM STDIN", rest)
    statement, rest = plan
    defaults = found.defaults()
    tail = tuple(defaults[f.attname] for f in rest)
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        write = copy.write_row
        if tail:
            for row in rows:
                write((*row, *tail))
        else:
            for row in rows:
                write(row)


def insert_from_json(
    cursor: Any,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: dict[str, Any],
) -> None:
    """PostgreSQL only: one ``INSERT … SELECT`` over ``rows`` sent as one JSON array parameter.

    Each row holds JSON values in ``columns`` order (by attname); ``constants`` (attname →
    database value) are the same in every row; other columns get their defaults. For many small
    rows this beats ``COPY``: one round trip instead of two, and no per-row formatting in Python.
    """
    found = layout(model)
    key = (model, tuple(columns), tuple(constants))
    plan = _JSON_PLANS.get(key)
    if plan is None:
        by_name = found.by_attname
        # A JSON member as the column's JSON type, anything else as its text cast to the type.
        selected = [
            f"(r->{i})::{by_name[c].db_type(connection)}"
            if isinstance(by_name[c], models.JSONField)
            else f"(r->>{i})::{by_name[c].db_type(connection)}"
            for i, c in enumerate(columns)
        ]
        rest = tuple(f for f in found.fields if f.attname not in columns)
        names = [q(by_name[c].column) for c in columns] + [q(f.column) for f in rest]
        marks = [
            f"%s::{f.db_type(connection)}" if isinstance(f, models.JSONField) else "%s"
            for f in rest
        ]
        plan = _JSON_PLANS[key] = (
            f"INSERT INTO {found.table} ({', '.join(names)}) "
            f"SELECT {', '.join(selected + marks)} FROM json_array_elements(%s::json) AS r",
            rest,
        )
    statement, rest = plan
    defaults = found.defaults()
    params = [constants[f.attname] if f.attname in constants else defaults[f.attname] for f in rest]
    cursor.execute(statement, [*params, dumps_compact(rows).decode()])


_JSON_PLANS: dict[tuple[Any, ...], tuple[str, tuple[models.Field, ...]]] = {}
_COPY_PLANS: dict[
    tuple[type[models.Model], tuple[str, ...]], tuple[str, tuple[models.Field, ...]]
] = {}


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
    ``RETURNING`` rows when ``returning`` names columns (or expressions).
    """
    found = layout(model)
    values = found.defaults()
    defaults = [(f.attname, values[f.attname]) for f in found.fields]
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
            f"INSERT INTO {found.table} ({found.columns}) VALUES "
            f"{', '.join([found.placeholder] * len(chunk))}{suffix}",
            params,
        )
        if returning:
            out.extend(cursor.fetchall())
    return out
