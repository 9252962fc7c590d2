"""`pgdr export restore ID --table T --into-db DB [--as NAME]`: one table of an export loaded
back into PostgreSQL — the 7-year retrieval.

Order: the manifest (only of a complete export), the table and its column types checked; on
S3 every file's storage class (files in Glacier / Deep Archive get a restore request, and the
command ends saying how long to wait: :mod:`pgdr.export.thaw`); then, in ONE transaction,
CREATE TABLE (refused if the name is taken), and per file: fetch, SHA-256 and size against the
manifest, rows and columns against the manifest, COPY. Then the table's row count against the
manifest's. Any failure rolls the transaction back: the table is there complete or not at all.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from psycopg import sql
from rich.console import Console
from rich.markup import escape

from pgdr.errors import IntegrityError, PostgresError, StorageError, TableExists
from pgdr.export.bucket import ArchivedObject, ExportBucket, ObjectState, s3_location
from pgdr.export.load_plan import (
    ColumnDef,
    TargetName,
    choose_table,
    column_defs,
    create_table_sql,
    needs_conversion,
    pg_value,
    safe_pg_type,
    target_name,
    text_castable,
)
from pgdr.export.manifest import FileEntry, TableEntry
from pgdr.export.opened import complete_manifest
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget
from pgdr.export.thaw import RESTORED_DAYS, check_tier, pending_error, plan_thaw
from pgdr.pg.connect import connect, reason

#: Rows handed to COPY per Arrow batch read from a part.
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class RestoreRequest:
    export_id: str
    table: str
    into_conninfo: str
    into_db: str
    database: str | None = None
    as_name: str | None = None
    retrieval_tier: str = "Standard"


@dataclass
class LoadResult:
    export_id: str
    source: str
    target: str
    database: str
    rows: int
    files: int
    bytes: int
    created_schema: bool = False
    notes: list[str] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        console.print(
            f"restored {escape(self.source)} of export {self.export_id} into "
            f"{escape(self.database)} as {escape(self.target)}: {self.rows} row(s) from "
            f"{self.files} file(s), every SHA-256 checked"
        )
        if self.created_schema:
            console.print(f"created schema {escape(self.target.rsplit('.', 1)[0])}")
        for note in self.notes:
            console.print(f"note: {escape(note)}")


def _fetcher(
    target: ExportTarget, bucket: ExportBucket | None, export_id: str
) -> Callable[[FileEntry], bytes]:
    if bucket is None:
        return lambda f: target.get(export_id, f.path)
    return lambda f: bucket.get(f"{export_id}/{f.path}")


def _thaw(bucket: ExportBucket, req: RestoreRequest, t: TableEntry, names: list[str]) -> None:
    """Request restores of archived files; raise ArchivedObjectsPending until all are back."""
    states: list[ObjectState] = [bucket.object_state(n) for n in names]
    plan = plan_thaw(states)
    if plan.ready:
        return
    check_tier(req.retrieval_tier, plan.classes)
    requested = sum(
        bucket.request_restore(n, RESTORED_DAYS, req.retrieval_tier) for n in plan.request
    )
    raise pending_error(plan, requested, req.retrieval_tier, f"{t.database}:{t.qualified}")


def _verified(raw: bytes, f: FileEntry) -> pa.Table:
    if len(raw) != f.bytes or hashlib.sha256(raw).hexdigest() != f.sha256:
        raise IntegrityError(
            f"export file {f.path}: SHA-256 or size differs from the manifest; nothing loaded"
        )
    table = pq.read_table(io.BytesIO(raw))
    if table.num_rows != f.rows:
        raise IntegrityError(
            f"export file {f.path}: {table.num_rows} rows, the manifest says {f.rows}"
        )
    return table


def _values(col: pa.Array, how: str) -> list[Any]:
    if how == "text":
        return list(pc.cast(col, pa.string()).to_pylist())
    if how == "python":
        return [pg_value(v) for v in col.to_pylist()]
    return list(col.to_pylist())


def _copy(
    cur: psycopg.Cursor[Any], name: TargetName, cols: list[ColumnDef], table: pa.Table
) -> None:
    names = [c.name for c in cols]
    if table.column_names != names:
        raise IntegrityError(
            f"export file columns {table.column_names} differ from the manifest's {names}"
        )
    kinds = [str(table.schema.field(n).type) for n in names]
    way = [
        "text" if text_castable(k) else "python" if needs_conversion(k) else "as_is" for k in kinds
    ]
    stmt = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(name.schema),
        sql.Identifier(name.table),
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
    )
    with cur.copy(stmt) as copy:
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            columns = [_values(col, how) for col, how in zip(batch.columns, way, strict=True)]
            for row in zip(*columns, strict=True):
                copy.write_row(row)


def restore_table(
    target: ExportTarget, settings: ExportSettings, req: RestoreRequest
) -> LoadResult:
    m = complete_manifest(target, req.export_id)
    t = choose_table(m, req.table, req.database)
    name = target_name(t, req.as_name)
    for c in t.columns:
        safe_pg_type(c.pg_type)  # refuse a forged manifest before anything else
    loc = s3_location(settings)
    bucket = ExportBucket(loc) if loc is not None else None
    try:
        if bucket is not None:
            _thaw(bucket, req, t, [f"{req.export_id}/{f.path}" for f in t.files])
        return _load(req, t, name, _fetcher(target, bucket, req.export_id), bucket)
    finally:
        if bucket is not None:
            bucket.close()


def _load(
    req: RestoreRequest,
    t: TableEntry,
    name: TargetName,
    fetch: Callable[[FileEntry], bytes],
    bucket: ExportBucket | None,
) -> LoadResult:
    qualified = f"{quote(name.schema)}.{quote(name.table)}"
    where = f"{name.qualified} in database {req.into_db}"
    with connect(req.into_conninfo) as conn:
        try:
            if conn.execute("SELECT to_regclass(%s)", (qualified,)).fetchone() != (None,):
                raise TableExists(f"{where} exists already; nothing restored", hint="--as NAME")
            known = {
                c.pg_type: conn.execute("SELECT to_regtype(%s)", (c.pg_type,)).fetchone() != (None,)
                for c in t.columns
            }
            cols = column_defs(t, known)
            with conn.transaction(), conn.cursor() as cur:
                has_schema = cur.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (name.schema,)
                ).fetchone()
                if has_schema is None:
                    cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name.schema)))
                cur.execute(create_table_sql(name, cols).encode())
                for f in t.files:
                    try:
                        raw = fetch(f)
                    except ArchivedObject:
                        # archived between the check and the read: the next run thaws it
                        assert bucket is not None
                        _thaw(bucket, req, t, [f"{req.export_id}/{f.path}"])
                        raise StorageError(
                            f"{f.path}: S3 refuses to read it (InvalidObjectState) though "
                            "its restore is done"
                        ) from None
                    _copy(cur, name, cols, _verified(raw, f))
                count = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(qualified)))
                row = count.fetchone()
                if row is None or row[0] != t.rows:
                    raise IntegrityError(
                        f"{where}: {row[0] if row else 0} rows loaded, the manifest says {t.rows}"
                    )
        except psycopg.errors.DuplicateTable:
            raise TableExists(
                f"{where} exists already; nothing restored", hint="--as NAME"
            ) from None
        except psycopg.Error as e:
            raise PostgresError(f"cannot restore {where}: {reason(e)}") from None
    return LoadResult(
        req.export_id,
        f"{t.database}:{t.qualified}",
        name.qualified,
        req.into_db,
        t.rows,
        len(t.files),
        t.bytes,
        created_schema=has_schema is None,
        notes=[f"{c.name}: {c.note}" for c in cols if c.note],
    )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
