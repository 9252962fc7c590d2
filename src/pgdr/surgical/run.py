"""A table restore — one table or several from one sandbox: refuse early what production
already shows is impossible, choose the backup, restore it into a drill-style sandbox at the
target, start it, then copy the tables (``--as``) or their missing rows (``--missing-rows``,
parents before the tables whose foreign keys point at them) into production in one
transaction, or dump them into one file (``--dump``). The sandbox is always
removed — on success, on failure, on Ctrl-C and on SIGTERM; a SIGKILLed run's sandbox is
reaped by the next table restore or drill (they share the sandbox markers)."""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from pgdr import audit
from pgdr.catalog.manifest import BackupManifest
from pgdr.drill.sandbox import Sandbox, reap, sandbox_settings
from pgdr.drill.steps import sigterm_ignored, sigterm_interrupts
from pgdr.errors import PgdrError, TableRestoreError
from pgdr.pg.connect import connect
from pgdr.pg.recovery_watch import wait_for_target
from pgdr.repo.repository import Repository
from pgdr.restore.commands import hand_over_command
from pgdr.restore.plan import Target, choose_backup
from pgdr.restore.run import RestoreSource, restore
from pgdr.surgical.copy_as import copy_as, refuse_existing
from pgdr.surgical.ddl import Shape
from pgdr.surgical.dump import dump_tables, refuse_existing_file
from pgdr.surgical.missing import STAGED, check_live, insert_missing
from pgdr.surgical.names import TableName
from pgdr.surgical.order import parents_first
from pgdr.surgical.result import TableRestoreResult
from pgdr.surgical.shape import read_shape


@dataclass(frozen=True)
class TableRestoreRequest:
    #: The tables to bring back, all of one database, from one sandbox.
    tables: tuple[TableName, ...]
    database: str
    target: Target
    backup: str | None = None
    #: --as (or the default names): the copy of each table, in the order of ``tables``;
    #: empty: --missing-rows (or --dump).
    new_names: tuple[TableName, ...] = ()
    dry_run: bool = False
    dump: Path | None = None  # --dump FILE: neither --as nor --missing-rows

    def __post_init__(self) -> None:
        if not self.tables or len(set(self.tables)) != len(self.tables):
            raise ValueError("a table restore needs its tables, each once")
        if self.new_names and len(self.new_names) != len(self.tables):
            raise ValueError("one new name per table")

    @property
    def mode(self) -> str:
        if self.dump is not None:
            return "dump"
        return "as" if self.new_names else "missing-rows"

    @property
    def named(self) -> str:
        return ", ".join(str(t) for t in self.tables)


@dataclass
class SurgicalEnv:
    """Where production is and how the sandbox is made (the drill's settings)."""

    production: Callable[[str], str]  # database -> conninfo
    state_dir: Path
    sandbox_dir: Path | None = None
    shared_buffers: str = "128MB"
    start_timeout: float = 900.0
    superuser: str = "postgres"
    bindir: Path | None = None
    say: Callable[[str], None] = field(default=lambda _text: None)


class _Clock:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - t, 3)


def _plan_lines(
    req: TableRestoreRequest, chosen: BackupManifest, order: list[TableName]
) -> list[str]:
    only = (
        f" (database {req.database} only: the others are not fetched)"
        if only_its_database(chosen, req.database)
        else " (the whole cluster)"
    )
    lines = [
        f"restore backup {chosen.id} to {req.target.describe()}{only} into a sandbox and start it",
    ]
    if req.dump is not None:
        lines.append(
            f"write {req.dump} (owner-only, never over a file): a pg_dump custom-format file "
            f"of {req.named} in database {req.database} at the target"
        )
    elif req.new_names:
        lines += [
            f"create {new} in database {req.database} as a copy of {table} at the target "
            "(rows, indexes and constraints that do not clash)"
            for table, new in zip(req.tables, req.new_names, strict=True)
        ]
        if len(req.tables) > 1:
            lines.append(
                "all the copies in one transaction, their foreign keys to each other pointing "
                "at the copies"
            )
    else:
        lines += [
            f"insert into {table} in database {req.database} the rows it had at the target "
            "and has no longer, by primary key"
            for table in order
        ]
        lines.append("all in one transaction" + (", in this order" if len(order) > 1 else ""))
    lines.append("remove the sandbox")
    return lines


def restore_table(
    repo: Repository, req: TableRestoreRequest, env: SurgicalEnv
) -> TableRestoreResult:
    clock = _Clock()
    with contextlib.ExitStack() as stack:
        prod: psycopg.Connection[Any] | None = None
        if req.dump is None:  # a dump never touches production
            prod = stack.enter_context(connect(env.production(req.database), autocommit=True))
        with clock.step("checks"):
            live: dict[TableName, Shape] = {}
            order = list(req.tables)
            if prod is None:
                assert req.dump is not None
                refuse_existing_file(req.dump)
            elif req.new_names:
                for new in req.new_names:
                    refuse_existing(prod, new)
            else:  # refused now, not after a restore of the whole cluster
                for table in req.tables:
                    live[table] = read_shape(prod, table, f"in database {req.database} now")
                    check_live(live[table])
                order = parents_first(order, _keys(live))
            source = RestoreSource.read(repo)
            chosen = choose_backup(
                source.backups.manifests, req.target, req.backup, source.backups.damaged
            )
        result = TableRestoreResult(
            [str(t) for t in order], req.database, req.mode, req.target.describe(), chosen.id,
            dry_run=req.dry_run, plan=_plan_lines(req, chosen, order),
        )  # fmt: skip
        if req.dry_run:
            return result
        try:
            _in_sandbox(repo, req, env, source, chosen, prod, live, order, result, clock)
        except PgdrError as e:
            _audit(repo, result, error=f"{e.kind}: {e.message}")
            raise
        finally:
            result.steps = clock.steps
    _audit(repo, result)
    return result


def _audit(repo: Repository, r: TableRestoreResult, error: str | None = None) -> None:
    """One entry per table (what was done to it), each naming the others restored with it."""
    copies = {c.source: c for c in r.copies}
    missing = {m.table: m for m in r.missing}
    for table in r.tables:
        details: dict[str, Any] = {
            "table": table,
            "database": r.database,
            "mode": r.mode,
            "target": r.target,
            "backup": r.backup_id,
            "sandbox_removed": r.sandbox.get("removed"),
        }
        if len(r.tables) > 1:
            details["with"] = [t for t in r.tables if t != table]
        if (c := copies.get(table)) is not None:
            details.update({"as": c.table, "rows": c.rows, "skipped": c.skipped})
        if r.dump is not None:
            details.update({"file": r.dump.file, "bytes": r.dump.bytes})
        if (m := missing.get(table)) is not None:
            details.update({"inserted": m.inserted, "rows_at_target": m.rows_at_target})
        if error is not None:
            details["error"] = error
        audit.record(repo, "restore-table", details)


def _keys(shapes: dict[TableName, Shape]) -> list[tuple[TableName, TableName]]:
    """``(table, the table it points at)`` for every foreign key the shapes carry."""
    return [
        (t, c.references) for t, shape in shapes.items() for c in shape.constraints if c.references
    ]


def only_its_database(chosen: BackupManifest, database: str) -> list[str]:
    """``[database]`` when the backup records it among its databases' oids, so the sandbox
    restore fetches only it; else ``[]`` (the whole cluster): a backup taken by an older
    pgdr, or a database created after the backup, which only WAL replay brings."""
    return [database] if database in chosen.database_oids.values() else []


def _settings(base: Path, shared_buffers: str) -> dict[str, object]:
    """A drill's sandbox settings, autovacuum off: the sandbox lives for one copy, and no
    worker is to enter the left-out databases, whose files are zeros."""
    return {**sandbox_settings(base, shared_buffers), "autovacuum": "off"}


def _create(env: SurgicalEnv, run_id: str, made: list[Sandbox]) -> Sandbox:
    """The sandbox, appended to ``made`` with SIGTERM held back: one arriving between its
    marker and the append is delivered after it, when the caller knows what to remove."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        made.append(Sandbox.create(env.sandbox_dir, env.state_dir, run_id, env.superuser))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return made[0]


def _in_sandbox(
    repo: Repository,
    req: TableRestoreRequest,
    env: SurgicalEnv,
    source: RestoreSource,
    chosen: BackupManifest,
    prod: psycopg.Connection[Any] | None,
    live: dict[TableName, Shape],
    order: list[TableName],
    result: TableRestoreResult,
    clock: _Clock,
) -> None:
    reap(env.state_dir)
    databases = only_its_database(chosen, req.database)
    backup_id = chosen.id
    run_id = f"table-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    made: list[Sandbox] = []
    try:
        with sigterm_interrupts():
            with clock.step("restore"):
                sandbox = _create(env, run_id, made)
                result.sandbox = {"dir": str(sandbox.base), "removed": False}
                env.say(f"restoring backup {backup_id} to {req.target.describe()}")
                restored = restore(
                    repo,
                    sandbox.data_dir,
                    target=req.target,
                    restore_command=hand_over_command(),
                    backup=backup_id,
                    place_all_wal=True,  # the sandbox gets no key: it never fetches WAL
                    source=source,
                    tablespaces_under=sandbox.tablespaces,  # never production's paths
                    # Only the table's database is fetched (and those PostgreSQL needs); the
                    # others are files of zeros, left in place (never dropped: nothing
                    # connects to them, and the sandbox goes as a whole).
                    databases=databases,
                )
                result.fetched_bytes = restored.bytes
                result.left_out = restored.left_out or []
                result.left_out_bytes = restored.zeroed_bytes
            with clock.step("start"):
                cluster = sandbox.start_recovery(
                    _settings(sandbox.base, env.shared_buffers),
                    env.start_timeout,
                    env.bindir,
                    env.superuser,
                    req.target.describe(),
                )
                wait_for_target(
                    cluster,
                    target=req.target.describe(),
                    promoted=True,
                    timeout=env.start_timeout,
                    poll=0.1,
                )
            with clock.step("copy"), connect(cluster.conninfo(req.database)) as sb:
                where = f"in database {req.database} at {req.target.describe()}"
                # exit 56 unless each is an ordinary table there
                at_target = {t: read_shape(sb, t, where) for t in order}
                if req.dump is not None:
                    env.say(f"dumping {req.named} into {req.dump}")
                    result.dump = dump_tables(cluster, req.database, order, req.dump)
                elif req.new_names:
                    assert prod is not None  # connected unless --dump
                    copies = dict(zip(req.tables, req.new_names, strict=True))
                    try:  # the copies' foreign keys point at each other: the referenced first
                        copy_order = parents_first(list(req.tables), _keys(at_target))
                    except TableRestoreError:  # keys in a cycle: one of them is named skipped
                        copy_order = list(req.tables)
                    with prod.transaction():  # every copy, or none
                        for table in copy_order:
                            env.say(f"copying {table} into {copies[table]}")
                            result.copies.append(
                                copy_as(sb, prod, at_target[table], copies[table], copies)
                            )
                else:
                    assert prod is not None  # connected unless --dump
                    with prod.transaction():  # every table's rows, or none
                        for i, table in enumerate(order):
                            env.say(f"inserting the missing rows of {table}")
                            staged = STAGED if len(order) == 1 else f"{STAGED}_{i}"
                            result.missing.append(
                                insert_missing(sb, prod, at_target[table], live[table], staged)
                            )
    finally:
        for made_one in made:
            with clock.step("cleanup"), sigterm_ignored():
                made_one.destroy()
                result.sandbox = {"dir": str(made_one.base), "removed": not made_one.base.exists()}
