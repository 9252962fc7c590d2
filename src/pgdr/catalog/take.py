"""Taking a catalog snapshot of the connected database over a normal connection: tables with
row counts, indexes and constraints — what drills check a restore against. A backup takes
one inside its session (``pgdr.backup.session``); an RDS drill takes one of the source
instance at its start (there is no pgdr backup to read it from)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pgdr.catalog.snapshot import CatalogSnapshot, ConstraintFacts, IndexFacts, TableFacts

#: Tables estimated above this many rows are not counted exactly in the catalog snapshot.
EXACT_COUNT_LIMIT = 20_000_000


def take_snapshot(conn: psycopg.Connection[Any]) -> CatalogSnapshot:
    """Rows are counted exactly for tables below EXACT_COUNT_LIMIT estimated rows (a
    count(*) of a huge table would take too long); larger ones carry only the planner's
    estimate."""
    tables = conn.execute(
        "SELECT n.nspname, c.relname, c.reltuples::bigint, c.relpersistence "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
    ).fetchall()
    indexes = conn.execute(
        "SELECT schemaname, tablename, indexname FROM pg_indexes "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
    ).fetchall()
    constraints = conn.execute(
        "SELECT n.nspname, c.conrelid::regclass::text, c.conname, c.contype, c.convalidated "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
    ).fetchall()
    row = conn.execute("SELECT current_database()").fetchone()
    return CatalogSnapshot(
        database=str(row[0]) if row else "",
        tables=tuple(
            TableFacts(
                s,
                n,
                _exact_rows(conn, s, n, int(r)),
                rows_estimate=max(int(r), 0),
                unlogged=p == "u",
            )
            for s, n, r, p in tables
        ),
        indexes=tuple(IndexFacts(s, t, i) for s, t, i in indexes),
        constraints=tuple(ConstraintFacts(s, t, n, ty, v) for s, t, n, ty, v in constraints),
    )


def _exact_rows(conn: psycopg.Connection[Any], schema: str, name: str, estimate: int) -> int | None:
    if estimate > EXACT_COUNT_LIMIT:
        return None
    q = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    try:
        (n,) = conn.execute(q).fetchone() or (None,)
    except psycopg.Error:  # no privilege on that table: the estimate will do
        return None
    return None if n is None else int(n)
