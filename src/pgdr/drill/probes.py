"""Facts from a running sandbox, one small query (or a few) per check. Decisions are in
``verdicts``; names are ``schema.table`` / ``schema.table.column`` / ``schema.index``."""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from pgdr.pg.connect import connect

Conn = psycopg.Connection[Any]
_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
)


def qualify(name: str) -> str:
    """ "users" -> "public.users"; "app.users" stays."""
    return name if "." in name else f"public.{name}"


def _ident(qualified: str) -> sql.Composed:
    return sql.SQL(".").join(sql.Identifier(p) for p in qualified.split(".", 1))


def connect_ms(conninfo: str) -> float:
    t = time.perf_counter()
    with connect(conninfo) as c:
        c.execute("SELECT 1").fetchone()
    return (time.perf_counter() - t) * 1000


def _in_user_schemas(conn: Conn, select: str, source: str, tail: str = "") -> list[Any]:
    """The rows of ``SELECT select FROM source`` whose namespace ``n`` is a user schema."""
    return conn.execute(f"SELECT {select} FROM {source} WHERE {_USER_SCHEMAS}{tail}").fetchall()


#: pg_class ``c`` with its namespace ``n``.
_CLASS = "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
_CLASS_NAME = "n.nspname || '.' || c.relname"


def tables(conn: Conn) -> set[str]:
    rows = _in_user_schemas(conn, _CLASS_NAME, _CLASS, " AND c.relkind IN ('r', 'p')")
    return {r[0] for r in rows}


def row_counts(conn: Conn, names: list[str]) -> dict[str, int]:
    return {
        t: int(scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(_ident(t))) or 0)
        for t in names
    }


def newest_value(conn: Conn, spec: str) -> datetime | None:
    parts = spec.split(".")
    table, column = qualify(".".join(parts[:-1])), parts[-1]
    q = sql.SQL("SELECT max({})::timestamptz FROM {}").format(sql.Identifier(column), _ident(table))
    newest: datetime | None = scalar(conn, q)
    return newest


def last_replayed(conn: Conn) -> datetime | None:
    """Commit time of the last transaction WAL replay applied (kept after promotion)."""
    replayed: datetime | None = scalar(conn, "SELECT pg_last_xact_replay_timestamp()")
    return replayed


def foreign_keys(conn: Conn) -> list[tuple[str, str, list[str], str, list[str]]]:
    """(name, child table, child columns, parent table, parent columns) of every FK."""
    rows = conn.execute(
        "SELECT c.conname, cn.nspname || '.' || cl.relname, "
        "  array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(att, ord) "
        "        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att ORDER BY k.ord), "
        "  pn.nspname || '.' || pl.relname, "
        "  array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(att, ord) "
        "        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att ORDER BY k.ord) "
        "FROM pg_constraint c "
        "JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cl.relnamespace "
        "JOIN pg_class pl ON pl.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pl.relnamespace "
        "WHERE c.contype = 'f' AND c.conparentid = 0 ORDER BY 2, 1"
    ).fetchall()
    return [(r[0], r[1], list(r[2]), r[3], list(r[4])) for r in rows]


def orphans(conn: Conn) -> dict[str, int]:
    """Rows whose foreign key points at nothing, per FK, by anti-join (a row with a NULL in
    its key is exempt, as under MATCH SIMPLE)."""
    out = {}
    for name, child, ccols, parent, pcols in foreign_keys(conn):
        not_null = sql.SQL(" AND ").join(
            sql.SQL("ch.{} IS NOT NULL").format(sql.Identifier(c)) for c in ccols
        )
        match = sql.SQL(" AND ").join(
            sql.SQL("p.{} = ch.{}").format(sql.Identifier(pc), sql.Identifier(cc))
            for cc, pc in zip(ccols, pcols, strict=True)
        )
        q = sql.SQL(
            "SELECT count(*) FROM {} ch WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})"
        ).format(_ident(child), not_null, _ident(parent), match)
        out[f"{child}.{name}"] = int(scalar(conn, q) or 0)
    return out


def indexes(conn: Conn) -> dict[str, bool]:
    """ "schema.index" -> valid and ready."""
    source = f"pg_index i JOIN {_CLASS} ON c.oid = i.indexrelid"
    rows = _in_user_schemas(conn, f"{_CLASS_NAME}, i.indisvalid AND i.indisready", source)
    return {r[0]: bool(r[1]) for r in rows}


def index_counts(conn: Conn) -> dict[str, int]:
    """ "schema.table" -> how many indexes it has."""
    source = f"pg_index i JOIN {_CLASS} ON c.oid = i.indrelid"
    rows = _in_user_schemas(conn, f"{_CLASS_NAME}, count(*)", source, " GROUP BY 1")
    return {r[0]: int(r[1]) for r in rows}


def constraints(conn: Conn) -> dict[str, bool]:
    """ "schema.table.name" -> convalidated, for constraints on tables."""
    source = f"pg_constraint k JOIN {_CLASS} ON c.oid = k.conrelid"
    rows = _in_user_schemas(conn, f"{_CLASS_NAME} || '.' || k.conname, k.convalidated", source)
    return {r[0]: bool(r[1]) for r in rows}


def validate(conn: Conn, keys: list[str]) -> dict[str, str | None]:
    """VALIDATE CONSTRAINT each NOT VALID one on the sandbox: None when the data satisfies
    it, else PostgreSQL's reason."""
    out: dict[str, str | None] = {}
    for key in keys:
        schema, table, name = key.split(".", 2)
        q = sql.SQL("ALTER TABLE {}.{} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(name)
        )
        try:
            conn.execute(q)
            out[key] = None
        except psycopg.Error as e:
            out[key] = str(e).strip().splitlines()[0]
    return out


class TimingFailed(Exception):
    """A timed query failed on ``where`` ("sandbox" or "production")."""

    def __init__(self, where: str, error: psycopg.Error) -> None:
        super().__init__(f"{where}: {error}")
        self.where, self.error = where, error


def timed_run(conn: Conn, query: str, timeout_ms: int) -> float:
    """One run of ``query`` in ms, as a single statement (prepared: a second statement
    after a ``;`` is refused) in a READ ONLY transaction, with ``statement_timeout``. The
    snapshot taken by set_config() first means the query cannot switch the transaction to
    read-write; the transaction is rolled back whatever it did."""
    conn.execute("BEGIN TRANSACTION READ ONLY")
    try:
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(timeout_ms),))
        t = time.perf_counter()
        conn.execute(query, prepare=True).fetchall()  # type: ignore[call-overload]
        return (time.perf_counter() - t) * 1000
    finally:
        conn.execute("ROLLBACK")


def time_query(
    conn: Conn, query: str, runs: int, other: Conn | None = None, timeout_ms: int = 30_000
) -> tuple[float, float | None]:
    """Median wall time in ms over ``runs`` executions after one warm-up run, on ``conn``
    and (interleaved run by run, so both see the same machine load) on ``other``, each run
    through :func:`timed_run` (``other`` is production: the query must not change it).
    Raises TimingFailed naming the side that failed."""
    conns = [("sandbox", conn)] if other is None else [("sandbox", conn), ("production", other)]
    times: list[list[float]] = [[] for _ in conns]
    for i in range(runs + 1):
        for (where, c), bucket in zip(conns, times, strict=True):
            try:
                ms = timed_run(c, query, timeout_ms)
            except psycopg.Error as e:
                raise TimingFailed(where, e) from e
            if i:  # the first round warms the caches
                bucket.append(ms)
    mine = float(statistics.median(times[0]))
    return mine, (float(statistics.median(times[1])) if other is not None else None)


def scalar(conn: Conn, query: str | sql.Composable) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None
