"""PostgreSQL databases that tests and benchmarks make for themselves."""

from __future__ import annotations

import psycopg
from psycopg import sql


def recreate_database(admin: psycopg.Connection, name: str) -> None:
    """Drop ``name`` (closing its sessions) and create it empty; ``admin`` is in autocommit."""
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
