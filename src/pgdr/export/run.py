"""One export: every chosen table of every database, read in one snapshot per database by
parallel workers, written as Parquet parts, then ``_manifest.json``, then ``_SUCCESS``
(docs/design.md §8j)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pgdr.errors import ExportError, UnsafeExportManifest, UsageError
from pgdr.export.convert import NeedsFallback, convert_batch
from pgdr.export.manifest import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    ColumnEntry,
    ExportManifest,
    FileEntry,
    Source,
    TableEntry,
    check_name,
    sha256_hex,
    table_directory,
)
from pgdr.export.pipeline import read_ahead
from pgdr.export.reader import (
    RANGE_MIN_BLOCKS,
    Snapshot,
    TableRef,
    WorkerPool,
    choose_tables,
    list_tables,
    plan_table,
    snapshot,
    table_ranges,
)
from pgdr.export.target import ExportTarget
from pgdr.export.types import ColumnPlan, fallback, partition_column
from pgdr.export.writer import (
    NULL_PARTITION,
    PartLimits,
    PartNumbers,
    TableOptions,
    TableWriter,
)


@dataclass
class ExportRequest:
    databases: list[str]
    tables: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    partition_by: str | None = None
    jobs: int = 2
    limits: PartLimits = field(default_factory=PartLimits)
    work_dir: Path | None = None
    #: Workers reused across the export's tables (set by run_export).
    workers: WorkerPool = field(default_factory=WorkerPool)
    #: Tables of at least this many blocks are read in ``jobs`` block ranges in parallel.
    range_min_blocks: int = RANGE_MIN_BLOCKS


@dataclass(frozen=True)
class SourceInfo:
    """What the instance the export reads is (a restored backup, or the live server)."""

    source: Source
    #: The moment the data is consistent at; None: the live snapshot's own time.
    snapshot_time: datetime | None = None


@dataclass
class Progress:
    """Rows and bytes so far, against the planner's row estimate (for an ETA)."""

    rows: int = 0
    bytes: int = 0
    rows_estimate: int = 0
    on_change: Callable[[Progress], None] = lambda _p: None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rows: int = 0, size: int = 0) -> None:
        with self._lock:
            self.rows += rows
            self.bytes += size
            self.on_change(self)


def new_export_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_export(
    target: ExportTarget,
    conninfo: Callable[[str], str],
    info: SourceInfo,
    req: ExportRequest,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _t: None,
) -> ExportManifest:
    created = datetime.now(UTC)
    export_id = new_export_id(created)
    progress = progress or Progress()
    work = Path(tempfile.mkdtemp(prefix="pgdr-export-", dir=req.work_dir))
    try:
        with ExitStack() as stack:
            snaps: list[Snapshot] = []
            jobs: list[_Table] = []
            sysid = version = lsn = None
            for db in req.databases:
                snap, conn = stack.enter_context(snapshot(db, conninfo(db)))
                snaps.append(snap)
                if sysid is None:
                    sysid, version, lsn = _identity(conn)
                chosen = choose_tables(list_tables(conn), req.tables, req.exclude)
                if not chosen and req.tables:
                    raise UsageError(f"no table of database {db} matches {', '.join(req.tables)}")
                for schema, table in chosen:
                    ref = TableRef(_safe(db), _safe(schema), _safe(table))
                    plans = plan_table(conn, ref)
                    if req.partition_by is not None:
                        try:
                            partition_column(plans, req.partition_by)
                        except ValueError as e:
                            raise UsageError(f"--partition-by: {ref.qualified}: {e}") from None
                    rows = _estimate(conn, ref)
                    progress.rows_estimate += rows
                    ranges = table_ranges(conn, ref, req.jobs, req.range_min_blocks)
                    jobs.append(_Table(snap, ref, plans, ranges, rows))
            say(f"export {export_id}: {len(jobs)} table(s) from {len(snaps)} database(s)")
            req = replace(req, workers=WorkerPool(limit=req.jobs))
            stack.callback(req.workers.close)  # before the snapshots end
            tables = _run_jobs(target, export_id, jobs, req, work, progress)
        source = info.source
        if source.kind == "live" and source.lsn is None:
            source = replace(source, lsn=lsn)
        manifest = ExportManifest(
            export_id=export_id,
            source=source,
            snapshot_time=info.snapshot_time or min(s.time for s in snaps),
            system_identifier=sysid,
            pg_version=version,
            created=created,
            finished=datetime.now(UTC),
            tables=tuple(tables),
        )
        raw = manifest.to_json()
        target.put(export_id, MANIFEST_NAME, raw)
        target.put(export_id, SUCCESS_NAME, (sha256_hex(raw) + "\n").encode())
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _safe(name: str) -> str:
    try:
        return check_name("table", name)
    except UnsafeExportManifest:
        raise ExportError(f"cannot export {name!r}: the name is not one path segment") from None


def _identity(conn: Any) -> tuple[str | None, int | None, str | None]:
    row = conn.execute(
        "SELECT system_identifier::text, current_setting('server_version_num')::int,"
        " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END"
        " FROM pg_control_system()"
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def _estimate(conn: Any, ref: TableRef) -> int:
    row = conn.execute(
        "SELECT greatest(sum(c.reltuples), 0)::bigint FROM pg_class c"
        " WHERE c.oid = %s::regclass OR c.oid IN"
        " (SELECT relid FROM pg_partition_tree(%s::regclass))",
        (ref.sql_name, ref.sql_name),
    ).fetchone()
    return int(row[0] or 0) if row else 0


@dataclass
class _Table:
    """One table to export (its snapshot, name, columns, block ranges and the planner's row
    estimate) and, while its ranges are written, what a restart with a fallback mapping
    starts again from (docs/design.md §8j)."""

    snap: Snapshot
    ref: TableRef
    plans: list[ColumnPlan]
    ranges: list[str | None]
    rows: int
    attempts: int = 0
    numbers: PartNumbers = field(default_factory=PartNumbers)
    options: TableOptions = field(default_factory=TableOptions)
    stop: threading.Event = field(default_factory=threading.Event)
    written: list[list[FileEntry]] = field(default_factory=list)
    schema: pa.Schema | None = None
    fallback: str | None = None

    def reset(self) -> None:
        self.attempts += 1
        self.numbers, self.options, self.stop = PartNumbers(), TableOptions(), threading.Event()
        self.written = [[] for _ in self.ranges]
        self.schema = self.fallback = None


def _run_jobs(
    target: ExportTarget,
    export_id: str,
    tables: list[_Table],
    req: ExportRequest,
    work: Path,
    progress: Progress,
) -> list[TableEntry]:
    """Every range of every table on one pool of ``req.jobs`` threads, largest tables
    first: their ranges take the workers before any small table does, and the small tables
    end the export, each on the first worker a range frees, instead of a big table's last
    range ending it alone. A table whose values need a column's fallback mapping is
    restarted once all its ranges have stopped (its parts so far deleted)."""
    owner: dict[Future[pa.Schema], int] = {}
    entries: dict[int, TableEntry] = {}
    with ThreadPoolExecutor(max_workers=req.jobs, thread_name_prefix="pgdr-export") as pool:

        def start(i: int) -> None:
            t = tables[i]
            if t.attempts > len(t.plans):
                raise ExportError(
                    f"{t.ref.database}/{t.ref.qualified}: no mapping holds its values"
                )
            t.reset()
            run = partial(
                _export_range, target, export_id, t.snap, t.ref, t.plans, req, work, progress
            )
            for k, where in enumerate(t.ranges):
                owner[pool.submit(run, where, t.numbers, t.options, t.written[k], t.stop)] = i

        try:
            for i in sorted(
                range(len(tables)), key=lambda i: (-len(tables[i].ranges), -tables[i].rows)
            ):
                start(i)
            while owner:
                done, _ = wait(owner, return_when=FIRST_COMPLETED)
                for f in done:
                    t = tables[i := owner.pop(f)]
                    exc = f.exception()
                    if isinstance(exc, NeedsFallback):
                        t.stop.set()  # the table's other ranges stop at their next batch
                        t.fallback = t.fallback or exc.column
                    elif exc is not None:
                        if type(exc).__module__.startswith(("adbc_driver", "pyarrow")):
                            raise ExportError(
                                f"exporting {t.ref.database}/{t.ref.qualified}: {exc!r}"
                            ) from exc
                        raise exc
                    elif t.schema is None:
                        t.schema = f.result()
                    if i in owner.values():
                        continue  # another range of the table is still running
                    if t.fallback is not None:
                        for part in (p for w in t.written for p in w):
                            target.delete(export_id, part.path)
                        progress.add(rows=-sum(p.rows for w in t.written for p in w))
                        t.plans = [fallback(p) if p.name == t.fallback else p for p in t.plans]
                        start(i)
                    else:
                        entries[i] = _finish(t, target, export_id, req, work)
        except BaseException:
            for t in tables:
                t.stop.set()
            for f in owner:
                f.cancel()
            raise
    return [entries[i] for i in range(len(tables))]


def _finish(
    t: _Table, target: ExportTarget, export_id: str, req: ExportRequest, work: Path
) -> TableEntry:
    assert t.schema is not None
    files = sorted((f for w in t.written for f in w), key=lambda f: f.path)
    if not files:  # one empty part: a reader globbing the directory finds the schema
        directory = table_directory(t.ref.database, t.ref.schema, t.ref.table)
        files = TableWriter(target, export_id, directory, t.schema, req.limits, work).finish()
    return _entry(t.ref, t.plans, t.schema, files, req.partition_by)


def _export_range(
    target: ExportTarget,
    export_id: str,
    snap: Snapshot,
    ref: TableRef,
    plans: list[ColumnPlan],
    req: ExportRequest,
    work: Path,
    progress: Progress,
    where: str | None,
    numbers: PartNumbers,
    options: TableOptions,
    written: list[FileEntry],
    stop: threading.Event,
) -> pa.Schema:
    """Rows of ``ref`` (matching ``where``) as parts; their entries appended to ``written``
    as each part is stored (so a restart can delete them). Returns the Arrow schema."""
    directory = table_directory(ref.database, ref.schema, ref.table)
    worker = req.workers.take(snap)
    reusable = False
    writer: TableWriter | None = None
    try:
        reader = worker.open(ref, plans, req.partition_by, where)
        schema: pa.Schema = convert_batch(_empty(reader.schema), plans).schema

        def stored(f: FileEntry) -> None:
            written.append(f)
            progress.add(size=f.bytes)

        writer = TableWriter(
            target, export_id, directory, schema, req.limits, work, stored, numbers, options
        )
        converted = (convert_batch(batch, plans) for batch in reader)
        for out in read_ahead(converted):
            if stop.is_set():  # another range failed: its error is the one reported
                writer.abort()
                return schema
            for part, key in _partitions(out, req.partition_by):
                writer.write(part, key)
            progress.add(rows=out.num_rows)
        writer.finish(empty_part=False)
        reusable = True
        return schema
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if reusable:
            req.workers.give(snap, worker)
        else:
            req.workers.discard(worker)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)


def _partitions(
    batch: pa.RecordBatch, column: str | None
) -> Iterator[tuple[pa.RecordBatch, str | None]]:
    """Runs of one ``YYYY-MM`` (rows arrive sorted by the partition column)."""
    if column is None or batch.num_rows == 0:
        yield batch, None
        return
    col = batch.column(column)
    if pa.types.is_date(col.type):
        col = pc.cast(col, pa.timestamp("s"))
    keys = pc.fill_null(pc.strftime(col, format="%Y-%m"), NULL_PARTITION)
    ree = pc.run_end_encode(keys)
    start = 0
    for end, key in zip(ree.run_ends.to_pylist(), ree.values.to_pylist(), strict=True):
        yield batch.slice(start, end - start), key
        start = end


def _entry(
    ref: TableRef,
    plans: list[ColumnPlan],
    schema: pa.Schema,
    files: list[FileEntry],
    partition_by: str | None,
) -> TableEntry:
    columns = tuple(
        ColumnEntry(p.name, p.pg_type, str(f.type), p.nullable, p.note)
        for p, f in zip(plans, schema, strict=True)
    )
    return TableEntry(
        ref.database,
        ref.schema,
        ref.table,
        sum(f.rows for f in files),
        sum(f.bytes for f in files),
        partition_by,
        columns,
        tuple(files),
    )
