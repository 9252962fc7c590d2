"""`pgdr setup` and `pgdr check`: configure archiving through ALTER SYSTEM, and prove the
whole chain — PostgreSQL switches a segment, archive_command stores it, it is readable in the
repository — with each check marked critical or advisory."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from pgdr.catalog.wal import wal_key
from pgdr.errors import ClusterMismatch, PgdrError, PostgresError
from pgdr.pg.connect import connect
from pgdr.repo.repository import Repository
from pgdr.wal import cluster

GOOD_WAL_LEVELS = ("replica", "logical")


@dataclass
class SettingRow:
    name: str
    current: str
    wanted: str
    status: str  # ok | change | applied | restart-needed


@dataclass
class SetupResult:
    rows: list[SettingRow]
    applied: bool
    restart_needed: bool

    def render_text(self, console: Console) -> None:
        t = Table("setting", "current", "wanted", "status")
        for r in self.rows:
            t.add_row(r.name, r.current, r.wanted, r.status)
        console.print(t)
        if not self.applied and any(r.status == "change" for r in self.rows):
            console.print("run again with --apply to set these through ALTER SYSTEM")
        if self.restart_needed:
            console.print(
                "[yellow]restart PostgreSQL for wal_level / archive_mode to take effect[/]"
            )


def setup(
    conninfo: str, archive_command: str, archive_timeout: int = 60, apply: bool = False
) -> SetupResult:
    with connect(conninfo) as conn:

        def current(name: str) -> str:
            row = conn.execute(
                "SELECT setting FROM pg_settings WHERE name = %s", (name,)
            ).fetchone()
            return str(row[0]) if row else ""

        wanted = {
            "wal_level": current("wal_level")
            if current("wal_level") in GOOD_WAL_LEVELS
            else "replica",
            "archive_mode": "on",
            "archive_command": archive_command,
            "archive_timeout": str(archive_timeout),
        }
        rows = []
        for name, want in wanted.items():
            have = current(name)
            ok = have == want or (name == "archive_mode" and have == "always")
            rows.append(SettingRow(name, have, want, "ok" if ok else "change"))
        if apply:
            try:
                for r in rows:
                    if r.status == "change":
                        conn.execute(
                            sql.SQL("ALTER SYSTEM SET {} = {}").format(
                                sql.Identifier(r.name), sql.Literal(r.wanted)
                            )
                        )
                        r.status = "applied"
                conn.execute("SELECT pg_reload_conf()")
            except psycopg.Error as e:
                raise PostgresError(
                    f"ALTER SYSTEM failed: {str(e).strip().splitlines()[0]}"
                ) from None
            time.sleep(0.3)
            pending = {
                r[0] for r in conn.execute("SELECT name FROM pg_settings WHERE pending_restart")
            }
            for r in rows:
                if r.name in pending:
                    r.status = "restart-needed"
        restart = any(r.status == "restart-needed" for r in rows) or (
            not apply
            and any(r.status == "change" and r.name in ("wal_level", "archive_mode") for r in rows)
        )
    return SetupResult(rows, apply, restart)


@dataclass
class Check:
    name: str
    ok: bool
    critical: bool
    detail: str


@dataclass
class CheckResult:
    checks: list[Check] = field(default_factory=list)
    archive_seconds: float | None = None
    #: set when the cluster is not the repository's (the CLI exits ClusterMismatch)
    cluster_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.critical)

    def render_text(self, console: Console) -> None:
        t = Table("check", "result", "severity", "detail")
        for c in self.checks:
            mark = (
                "[green]ok[/]"
                if c.ok
                else ("[red]FAILED[/]" if c.critical else "[yellow]warning[/]")
            )
            t.add_row(c.name, mark, "critical" if c.critical else "advisory", c.detail)
        console.print(t)


def check(
    conninfo: str, repo: Repository, *, timeout: float = 60.0, min_free_gib: float = 1.0
) -> CheckResult:
    res = CheckResult()
    add = res.checks.append
    with connect(conninfo) as conn:

        def one(sql: str) -> Any:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

        add(
            Check(
                "wal_level", one("SHOW wal_level") in GOOD_WAL_LEVELS, True, one("SHOW wal_level")
            )
        )
        mode = one("SHOW archive_mode")
        add(Check("archive_mode", mode in ("on", "always"), True, mode))
        cmd = one("SHOW archive_command")
        add(Check("archive_command uses pgdr", "wal-push" in cmd, True, cmd or "(empty)"))
        priv = one(
            "SELECT has_function_privilege('pg_backup_start(text, boolean)', 'execute') "
            "AND has_function_privilege('pg_backup_stop(boolean)', 'execute')"
        )
        add(Check("role may run backups", bool(priv), True, one("SELECT current_user")))
        try:
            n = sum(1 for _ in repo.backend.list("keys/"))
            add(
                Check(
                    "repository reachable and unlocked",
                    True,
                    True,
                    f"{repo.backend.url}, {n} key slot(s)",
                )
            )
        except PgdrError as e:
            add(Check("repository reachable and unlocked", False, True, e.message))
        _cluster_identity(
            add, res, repo, one("SELECT system_identifier::text FROM pg_control_system()")
        )
        _free_space(add, repo, Path(one("SHOW data_directory")), min_free_gib)
        if all(c.ok for c in res.checks if c.critical):
            try:
                t0 = time.monotonic()
                name = one("SELECT pg_walfile_name(pg_switch_wal())")
                while repo.backend.stat(wal_key(name)) is None:
                    if time.monotonic() - t0 > timeout:
                        failed = one("SELECT last_failed_wal FROM pg_stat_archiver")
                        raise PostgresError(
                            f"{name} not in the repository after {timeout:.0f} s "
                            f"(last failed: {failed}); see the PostgreSQL log"
                        )
                    time.sleep(0.1)
                res.archive_seconds = time.monotonic() - t0
                add(
                    Check(
                        "WAL switch reaches the repository",
                        True,
                        True,
                        f"{name} archived in {res.archive_seconds:.2f} s",
                    )
                )
            except (PgdrError, psycopg.Error) as e:
                add(Check("WAL switch reaches the repository", False, True, str(e).splitlines()[0]))
    return res


def _cluster_identity(add: Any, res: CheckResult, repo: Repository, sysid: str) -> None:
    name = "cluster identity"
    try:
        ident = cluster.recorded(repo)
        if ident is not None:
            cluster.check(ident, sysid, repo.backend.url)
    except ClusterMismatch as e:
        res.cluster_mismatch = e.message
        add(Check(name, False, True, e.message))
        return
    except PgdrError as e:
        add(Check(name, False, True, e.message))
        return
    later = "" if ident else " (not recorded yet: the first WAL push or backup records it)"
    add(Check(name, True, True, f"system identifier {sysid}{later}"))


def _free_space(add: Any, repo: Repository, data_dir: Path, min_gib: float) -> None:
    places = [("PGDATA free space", data_dir)]
    url = repo.backend.url
    if url.startswith("file://"):
        places.append(("repository free space", Path(url[len("file://") :])))
    for label, path in places:
        try:
            free = shutil.disk_usage(path).free / 2**30
            add(Check(label, free >= min_gib, False, f"{free:.1f} GiB free at {path}"))
        except OSError:
            add(Check(label, True, False, f"{path} not visible from here"))
