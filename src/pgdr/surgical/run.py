"""One table restore: refuse early what production already shows is impossible, choose the
backup, restore it into a drill-style sandbox at the target, start it, then copy the table
(``--as``) or its missing rows (``--missing-rows``) into production. The sandbox is always
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
from pgdr.errors import PgdrError
from pgdr.pg.connect import connect
from pgdr.pg.recovery_watch import wait_for_target
from pgdr.repo.repository import Repository
from pgdr.restore.commands import hand_over_command
from pgdr.restore.plan import Target, choose_backup
from pgdr.restore.run import RestoreSource, restore
from pgdr.surgical.copy_as import copy_as, refuse_existing
from pgdr.surgical.ddl import Shape
from pgdr.surgical.dump import dump_table, refuse_existing_file
from pgdr.surgical.missing import check_live, insert_missing
from pgdr.surgical.names import TableName
from pgdr.surgical.result import TableRestoreResult
from pgdr.surgical.shape import read_shape


@dataclass(frozen=True)
class TableRestoreRequest:
    table: TableName
    database: str
    target: Target
    backup: str | None = None
    new_name: TableName | None = None  # --as; None: --missing-rows (or --dump)
    dry_run: bool = False
    dump: Path | None = None  # --dump FILE: neither --as nor --missing-rows

    @property
    def mode(self) -> str:
        if self.dump is not None:
            return "dump"
        return "as" if self.new_name is not None else "missing-rows"


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


def _plan_lines(req: TableRestoreRequest, chosen: BackupManifest) -> list[str]:
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
            f"of {req.table} in database {req.database} at the target"
        )
    elif req.new_name is not None:
        lines.append(
            f"create {req.new_name} in database {req.database} as a copy of {req.table} at the "
            "target (rows, indexes and constraints that do not clash)"
        )
    else:
        lines.append(
            f"insert into {req.table} in database {req.database} the rows it had at the target "
            "and has no longer, by primary key, in one transaction"
        )
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
            live: Shape | None = None
            if prod is None:
                assert req.dump is not None
                refuse_existing_file(req.dump)
            elif req.new_name is not None:
                refuse_existing(prod, req.new_name)
            else:  # refused now, not after a restore of the whole cluster
                live = read_shape(prod, req.table, f"in database {req.database} now")
                check_live(live)
            source = RestoreSource.read(repo)
            chosen = choose_backup(
                source.backups.manifests, req.target, req.backup, source.backups.damaged
            )
        result = TableRestoreResult(
            str(req.table), req.database, req.mode, req.target.describe(), chosen.id,
            dry_run=req.dry_run, plan=_plan_lines(req, chosen),
        )  # fmt: skip
        if req.dry_run:
            return result
        try:
            _in_sandbox(repo, req, env, source, chosen, prod, live, result, clock)
        except PgdrError as e:
            _audit(repo, result, error=f"{e.kind}: {e.message}")
            raise
        finally:
            result.steps = clock.steps
    _audit(repo, result)
    return result


def _audit(repo: Repository, r: TableRestoreResult, error: str | None = None) -> None:
    details: dict[str, Any] = {
        "table": r.table,
        "database": r.database,
        "mode": r.mode,
        "target": r.target,
        "backup": r.backup_id,
        "sandbox_removed": r.sandbox.get("removed"),
    }
    if r.copy is not None:
        details.update({"as": r.copy.table, "rows": r.copy.rows, "skipped": r.copy.skipped})
    if r.dump is not None:
        details.update({"file": r.dump.file, "bytes": r.dump.bytes})
    if r.missing is not None:
        details.update({"inserted": r.missing.inserted, "rows_at_target": r.missing.rows_at_target})
    if error is not None:
        details["error"] = error
    audit.record(repo, "restore-table", details)


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
    live: Shape | None,
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
                at_target = read_shape(sb, req.table, where)  # exit 56 unless a table
                if req.dump is not None:
                    env.say(f"dumping {req.table} into {req.dump}")
                    result.dump = dump_table(cluster, req.database, req.table, req.dump)
                elif req.new_name is not None:
                    env.say(f"copying {req.table} into {req.new_name}")
                    assert prod is not None  # connected unless --dump
                    result.copy = copy_as(sb, prod, at_target, req.new_name)
                else:
                    env.say(f"inserting the missing rows of {req.table}")
                    assert prod is not None and live is not None  # read in the checks
                    result.missing = insert_missing(sb, prod, at_target, live)
    finally:
        for made_one in made:
            with clock.step("cleanup"), sigterm_ignored():
                made_one.destroy()
                result.sandbox = {"dir": str(made_one.base), "removed": not made_one.base.exists()}
