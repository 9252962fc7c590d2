"""Reading tables out of PostgreSQL in one snapshot (docs/design.md §8j).

One coordinator connection per database opens a REPEATABLE READ READ ONLY transaction and
exports its snapshot (``pg_export_snapshot()``); every worker connection imports it
(``SET TRANSACTION SNAPSHOT``) before it reads, so all tables of a database are read as of
one moment whatever commits meanwhile. Workers read with the ADBC PostgreSQL driver, which
streams ``COPY ... (FORMAT binary)`` straight into Arrow record batches (chosen by
measurement over psycopg's COPY BINARY: §8j).
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from pgdr.errors import ExportError, PostgresError
from pgdr.export.types import ColumnPlan, PgColumn, plan_column, quote_ident, select_list
from pgdr.pg.connect import connect, reason, target

TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       b.typname, b.typtype, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attnotnull, e.typname, e.typtype, t.typtype = 'd',
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
       ARRAY(SELECT enumlabel::text FROM pg_enum WHERE enumtypid = b.oid ORDER BY enumsortorder)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


@dataclass(frozen=True)
class TableRef:
    database: str
    schema: str
    table: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def sql_name(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.table)}"


@dataclass(frozen=True)
class Snapshot:
    database: str
    conninfo: str
    snapshot_id: str
    time: datetime


def choose_tables(
    found: list[tuple[str, str]], include: list[str], exclude: list[str]
) -> list[tuple[str, str]]:
    """``schema.table`` names matching any ``include`` pattern (all when empty) and no
    ``exclude`` pattern (fnmatch; a pattern without a dot means ``public.<pattern>``)."""

    def norm(p: str) -> str:
        return p if "." in p else f"public.{p}"

    inc, exc = [norm(p) for p in include], [norm(p) for p in exclude]
    return [
        (s, t)
        for s, t in found
        if (not inc or any(fnmatch.fnmatchcase(f"{s}.{t}", p) for p in inc))
        and not any(fnmatch.fnmatchcase(f"{s}.{t}", p) for p in exc)
    ]


@contextmanager
def snapshot(database: str, conninfo: str) -> Iterator[tuple[Snapshot, Any]]:
    """Hold a REPEATABLE READ snapshot of ``database`` open for workers to import."""
    conn = connect(conninfo, autocommit=True)
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot(), clock_timestamp()").fetchone()
        assert row is not None
        yield Snapshot(database, conninfo, row[0], row[1]), conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def list_tables(conn: Any) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(TABLES_SQL).fetchall()]


def plan_table(conn: Any, ref: TableRef) -> list[ColumnPlan]:
    rows = conn.execute(COLUMNS_SQL, (ref.sql_name,)).fetchall()
    plans = []
    for r in rows:
        col = PgColumn(
            name=r[0],
            pg_type=r[1],
            typname=r[2],
            typtype=r[3],
            typmod=r[4],
            not_null=r[5],
            elem_typname=r[6],
            elem_typtype=r[7],
            is_domain=r[8],
            enum_labels=tuple(r[10] or ()),
        )
        plans.append(plan_column(col, r[9]))
    return plans


#: Tables at least this big (8 KiB blocks: 64 MiB) are read in block ranges by several workers.
RANGE_MIN_BLOCKS = 8192


def block_ranges(blocks: int, parts: int, min_blocks: int = RANGE_MIN_BLOCKS) -> list[str | None]:
    """``WHERE`` clauses splitting a heap of ``blocks`` blocks into ``parts`` ctid ranges
    (PostgreSQL 14+ scans each with a TID range scan); the last is open-ended, so rows in
    blocks added since the size was read are still read. One part: [None] (no WHERE)."""
    if parts <= 1 or blocks < max(min_blocks, parts):
        return [None]
    cuts = [blocks * i // parts for i in range(1, parts)]
    out: list[str | None] = [f"ctid < '({cuts[0]},0)'"]
    out += [f"ctid >= '({a},0)' AND ctid < '({b},0)'" for a, b in itertools.pairwise(cuts)]
    out.append(f"ctid >= '({cuts[-1]},0)'")
    return out


def table_ranges(
    conn: Any, ref: TableRef, parts: int, min_blocks: int = RANGE_MIN_BLOCKS
) -> list[str | None]:
    """Block ranges of an ordinary table on PostgreSQL 14+ (else one range). The size is the
    planner's ``relpages`` (kept by VACUUM and ANALYZE): reading it takes no lock, so planning
    never waits behind a lock a worker would wait for anyway; the last range is open-ended."""
    row = conn.execute(
        "SELECT c.relkind = 'r' AND current_setting('server_version_num')::int >= 140000,"
        " greatest(c.relpages, 0)"
        " FROM pg_class c WHERE c.oid = %s::regclass",
        (ref.sql_name,),
    ).fetchone()
    if row is None or not row[0]:
        return [None]
    return block_ranges(int(row[1]), parts, min_blocks)


class Worker:
    """One ADBC connection inside the shared snapshot of one database."""

    def __init__(self, snap: Snapshot) -> None:
        import adbc_driver_postgresql.dbapi as adbc

        try:
            self.conn = adbc.connect(snap.conninfo, autocommit=False)
        except Exception as exc:
            raise PostgresError(
                f"cannot connect to PostgreSQL at {target(snap.conninfo)}: {reason(exc)}"
            ) from None
        self.cur = self.conn.cursor()
        self.cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        self.cur.execute(f"SET TRANSACTION SNAPSHOT '{_snapshot_literal(snap.snapshot_id)}'")

    def open(
        self,
        ref: TableRef,
        plans: list[ColumnPlan],
        order_by: str | None = None,
        where: str | None = None,
    ) -> pa.RecordBatchReader:
        """``where``: a block range of :func:`block_ranges` (pgdr's own SQL, never input)."""
        sql = f"SELECT {select_list(plans)} FROM {ref.sql_name}"
        if where is not None:
            sql += f" WHERE {where}"
        if order_by is not None:
            sql += f" ORDER BY {quote_ident(order_by)} NULLS LAST"
        try:
            self.cur.execute(sql)
            reader: pa.RecordBatchReader = self.cur.fetch_record_batch()
        except Exception as exc:
            raise ExportError(f"reading {ref.database}/{ref.qualified}: {reason(exc)}") from None
        return reader

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection is going away either way
            self.conn.rollback()
        self.conn.close()


class WorkerPool:
    """The workers of one export: at most ``limit`` (``--jobs``) read at once, and idle ones
    are reused across tables and ranges. A worker's connection (and the ADBC driver's type
    catalog it loads, ~40 ms of client CPU) is set up once per slot, not once per table, and
    never more connections read than there are jobs — a table's ranges and the tables after
    it share the same ``limit`` slots, so a small table waits for a range to end and then
    fills the time its neighbour spends encoding its last row group. Only a worker that read
    its table to the end is given back; one that failed or stopped early is discarded (its
    COPY stream may be half read) and its slot freed."""

    def __init__(self, new: Callable[[Snapshot], Worker] | None = None, limit: int = 0) -> None:
        self._new: Callable[[Snapshot], Worker] = new or Worker
        self._idle: dict[str, list[Worker]] = {}
        self._slots = threading.BoundedSemaphore(limit) if limit > 0 else None
        self._lock = threading.Lock()

    def take(self, snap: Snapshot) -> Worker:
        """A worker in ``snap``; waits while ``limit`` workers are out."""
        if self._slots is not None:
            self._slots.acquire()
        try:
            with self._lock:
                idle = self._idle.get(snap.snapshot_id)
                if idle:
                    return idle.pop()
            return self._new(snap)
        except BaseException:
            self._release()
            raise

    def give(self, snap: Snapshot, worker: Worker) -> None:
        with self._lock:
            self._idle.setdefault(snap.snapshot_id, []).append(worker)
        self._release()

    def discard(self, worker: Worker) -> None:
        """Close a worker that cannot be reused and free its slot."""
        try:
            worker.close()
        finally:
            self._release()

    def close(self) -> None:
        with self._lock:
            workers = [w for idle in self._idle.values() for w in idle]
            self._idle.clear()
        for w in workers:
            w.close()

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()


def _snapshot_literal(snapshot_id: str) -> str:
    if not all(c.isalnum() or c == "-" for c in snapshot_id):
        raise ExportError(f"unexpected snapshot id {snapshot_id!r}")
    return snapshot_id
