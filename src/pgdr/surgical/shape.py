"""Reading a table's shape (columns, primary key, indexes, constraints) from a server — the
sandbox at the target, or production now. Catalog queries only, no user SQL."""

from __future__ import annotations

from typing import Any

import psycopg

from pgdr.errors import TableRestoreError
from pgdr.surgical.ddl import Column, Constraint, Index, Shape
from pgdr.surgical.names import TableName

_RELATION = """
SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""
_PRIMARY_KEY = """
SELECT a.attname FROM pg_index i
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.pos
"""
_INDEXES = """
SELECT ic.relname, quote_ident(ic.relname), pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY ic.relname
"""
_CONSTRAINTS = """
SELECT k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.confrelid = k.conrelid,
       rn.nspname, r.relname, CASE WHEN k.contype = 'f' THEN k.confrelid::regclass::text END
FROM pg_constraint k
LEFT JOIN pg_class r ON r.oid = k.confrelid LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE k.conrelid = %s AND k.contype IN ('p', 'u', 'f', 'c', 'x')
ORDER BY k.conname
"""


def _rows(conn: psycopg.Connection[Any], query: str, params: tuple[object, ...]) -> list[Any]:
    return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def relation(conn: psycopg.Connection[Any], table: TableName) -> tuple[int, str, str] | None:
    """(oid, relkind, quoted name) of ``table``, or None when there is none."""
    rows = _rows(conn, _RELATION, (table.schema, table.name))
    return (int(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None


def read_shape(conn: psycopg.Connection[Any], table: TableName, where: str) -> Shape:
    """The shape of ordinary table ``table``; TableRestoreError naming ``where`` (e.g. "at
    the target") when there is no such table there."""
    rel = relation(conn, table)
    if rel is None:
        raise TableRestoreError(f"table {table} does not exist {where}")
    oid, kind, table_sql = rel
    if kind != "r":
        what = {"p": "a partitioned table", "v": "a view", "m": "a materialized view"}
        raise TableRestoreError(
            f"{table} is {what.get(kind, f'not an ordinary table (relkind {kind})')} {where}; "
            "restore table copies ordinary tables only"
        )
    columns = tuple(
        Column(str(n), str(t), bool(nn), d, str(ident or ""), str(gen or ""))
        for n, t, nn, d, ident, gen in _rows(conn, _COLUMNS, (oid,))
    )
    key = tuple(str(r[0]) for r in _rows(conn, _PRIMARY_KEY, (oid,)))
    indexes = tuple(Index(str(a), str(b), str(c)) for a, b, c in _rows(conn, _INDEXES, (oid,)))
    constraints = tuple(
        Constraint(
            str(n),
            str(t),
            str(d),
            bool(selfref),
            TableName(str(rs), str(rt)) if t == "f" and rs is not None else None,
            str(printed) if printed is not None else None,
        )
        for n, t, d, selfref, rs, rt, printed in _rows(conn, _CONSTRAINTS, (oid,))
    )
    return Shape(table, table_sql, columns, key, indexes, constraints)


def count_rows(conn: psycopg.Connection[Any], table: TableName) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[arg-type,index]
