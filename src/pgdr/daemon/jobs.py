"""The job kinds the daemon can schedule: a small registry, one entry per kind.

A kind names its *group* (one job of a group runs at a time: a full and an incremental
backup never overlap), whether it needs the database, and a function that does the work and
returns a JSON-able result, or raises a PgdrError. A kind whose configuration is missing
(``export`` without ``[exports] url``) refuses with a one-line reason, recorded as a failed
run — it never silently does nothing. Kinds that exist in the configuration but have no
implementation in a build would be listed in ``UNAVAILABLE`` and never scheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pgdr.daemon.history import ANN_JOB, ANN_SLOT
from pgdr.errors import DaemonError
from pgdr.repo.repository import Repository

if TYPE_CHECKING:
    from pgdr.backup.run import BackupResult
    from pgdr.config_rds import RdsSettings
    from pgdr.daemon.export_job import ExportDeps
    from pgdr.drill.engine import DrillEnv
    from pgdr.drill.provider import InstanceProvider
    from pgdr.drill.settings import DrillSettings
    from pgdr.repo.gc import GcOptions
    from pgdr.retention.policy import Policy

T = TypeVar("T")
D = TypeVar("D")

#: Runs after a scheduled backup succeeded (the CLI passes "bring the replicas up to date").
AfterBackup = Callable[[Repository], None]


@dataclass(frozen=True)
class ExpireDeps:
    """What the expire job (and expire after a backup) needs: [retention] of the config."""

    policy: Policy
    gc: GcOptions | None = None


@dataclass(frozen=True)
class DrillDeps:
    """What the drill job needs: [drill] of the config and how to reach PostgreSQL."""

    settings: DrillSettings
    env: DrillEnv
    #: A fresh RDS instance provider per drill (the CLI wires it when [rds] is configured).
    rds_provider: Callable[[], InstanceProvider] | None = None


@dataclass(frozen=True)
class RdsJobDeps:
    """What the rds_snapshot and rds_export jobs need: the validated [rds] section and how to
    reach AWS (``pgdr.rds.client.Aws``, built by the CLI for each job)."""

    settings: RdsSettings
    aws: Callable[[], Any]
    #: Seconds to wait for the snapshot and each copy, or for the export task.
    snapshot_timeout_s: float = 7200.0
    export_timeout_s: float = 6 * 3600.0
    #: The export id for a job started at a time (default: ``pgdr.rds.export.new_export_id``).
    export_id: Callable[[datetime], str] | None = None
    #: The time a job starts at: names the snapshot and export, anchors snapshot retention.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class JobDeps:
    """What the kinds need beyond the repository and the database, wired by the CLI from
    the configuration. A kind whose dependency is missing refuses to run."""

    expire: ExpireDeps | None = None
    expire_after_backup: bool = False
    after_backup: AfterBackup | None = None
    drill: DrillDeps | None = None
    #: None: no [exports] url — the export job refuses, naming it.
    export: ExportDeps | None = None
    #: None: no [rds] section — the rds_snapshot and rds_export jobs refuse, naming it.
    rds: RdsJobDeps | None = None


@dataclass(frozen=True)
class JobContext:
    kind: str
    slot: datetime
    open_repo: Callable[[], Repository]
    conninfo: str
    data_dir: Path | None = None
    verify_read_data: bool = False
    deps: JobDeps = field(default_factory=JobDeps)

    def using_repo(self, work: Callable[[Repository], T]) -> T:
        """``work`` on the repository, opened for it and closed after it."""
        repo = self.open_repo()
        try:
            return work(repo)
        finally:
            repo.close()

    def needs(self, dependency: D | None, what: str) -> D:
        """A dependency the CLI wires from the configuration; refuse the job without it."""
        if dependency is None:
            raise DaemonError(f"job {self.kind}: no {what} was configured for the daemon")
        return dependency


@dataclass(frozen=True)
class JobKind:
    name: str
    group: str
    needs_postgres: bool
    run: Callable[[JobContext], dict[str, Any]]
    description: str


def _backup(backup_type: str) -> Callable[[JobContext], dict[str, Any]]:
    def run(ctx: JobContext) -> dict[str, Any]:
        from pgdr.backup.run import take_backup

        follow = ctx.deps.after_backup

        def work(repo: Repository) -> BackupResult:
            res = take_backup(
                repo,
                ctx.conninfo,
                backup_type=backup_type,
                label=f"scheduled {ctx.kind}",
                annotations={ANN_JOB: ctx.kind, ANN_SLOT: ctx.slot.isoformat()},
                data_dir=ctx.data_dir,
            )
            if follow is not None:  # replicas: a failure there is a warning, not a failed job
                follow(repo)
            return res

        res = ctx.using_repo(work)
        out = asdict(res)
        out["page_checksum_errors"] = len(res.page_checksum_errors)
        if ctx.deps.expire_after_backup:
            out["expire"] = _expire_after(ctx)
        return out

    return run


def _expire_after(ctx: JobContext) -> dict[str, Any]:
    """Retention right after a backup. The backup stands whatever happens here: a failure
    is recorded in the job's result (and the next backup or the expire job tries again)."""
    from pgdr.errors import PgdrError

    try:
        return _expire(ctx)
    except PgdrError as e:
        return {"error": e.message, "kind": e.kind}


def _expire(ctx: JobContext) -> dict[str, Any]:
    from pgdr.retention.expire import expire

    deps = ctx.needs(ctx.deps.expire, "retention policy")
    res = ctx.using_repo(lambda repo: expire(repo, deps.policy, gc=deps.gc))
    out: dict[str, Any] = {
        "removed_backups": res.removed_backups,
        "removed_wal_files": res.wal_removed_files,
        "refused_backups": res.refused_backups,
        "refused_wal_files": res.wal_refused_files,
        "bytes_before": res.bytes_before,
        "bytes_after": res.bytes_after,
    }
    if ctx.kind == "expire" and ctx.deps.export is not None:  # the 7-year rule on exports too
        from pgdr.daemon.export_job import expire_after_export

        out["exports"] = expire_after_export(ctx, ctx.deps.export.settings)
    return out


def _export(ctx: JobContext) -> dict[str, Any]:
    from pgdr.daemon.export_job import run_export_job

    deps = ctx.needs(ctx.deps.export, "[exports] url (where exports go)")
    return run_export_job(ctx, deps)


def _verify(ctx: JobContext) -> dict[str, Any]:
    from pgdr.catalog.load import CatalogBuilder
    from pgdr.repo.verify import VerifyReport, damage_found, verify
    from pgdr.restore.coverage import check_coverage

    def work(repo: Repository) -> VerifyReport:
        backups = CatalogBuilder(refs_budget=0)  # from the manifests verify reads anyway
        rep = verify(repo, read_data=ctx.verify_read_data, seen=backups.seen)
        check_coverage(repo, backups.done(), rep)
        return rep

    rep = ctx.using_repo(work)
    if not rep.ok:
        raise damage_found(rep.problems)
    return {
        "ok": True,
        "read_data": rep.read_data,
        "checked": dict(rep.checked),
        "unreferenced_packs": rep.unreferenced_packs,
        "bytes_read": rep.bytes_read,
        "warnings": [f"{w.object}: {w.message}" for w in rep.warnings],
    }


def _drill(ctx: JobContext) -> dict[str, Any]:
    deps = ctx.needs(ctx.deps.drill, "drill settings")
    return _drill_with(ctx, deps, None)


def _rds_drill(ctx: JobContext) -> dict[str, Any]:
    deps = ctx.needs(ctx.deps.drill, "drill settings")
    make = ctx.needs(deps.rds_provider, "[rds] section (instance to drill)")
    return _drill_with(ctx, deps, make())


def _drill_with(
    ctx: JobContext, deps: DrillDeps, provider: InstanceProvider | None
) -> dict[str, Any]:
    """One drill (latest target) stored in the repository; a failed one fails the job."""
    from pgdr.drill.engine import DrillRequest, run_drill
    from pgdr.errors import DrillFailed

    rec = ctx.using_repo(
        lambda repo: run_drill(repo, deps.settings, DrillRequest(), deps.env, provider)
    )
    if rec.error or rec.result == "failed":
        raise DrillFailed(f"drill {rec.id} failed: {rec.message}")
    return {
        "drill_id": rec.id,
        "result": rec.result,
        "rto_seconds": rec.rto_seconds,
        "rpo_seconds": rec.rpo_seconds,
    }


def _rds_snapshot(ctx: JobContext) -> dict[str, Any]:
    """`pgdr rds snapshot` on schedule: snapshot, copies to the DR regions, retention. What
    retention deleted is audited in the repository, as the command does."""
    from pgdr.rds.snapshot import take
    from pgdr.rds.wait import Waiting

    deps = ctx.needs(ctx.deps.rds, "[rds] section (instance to snapshot)")
    s = deps.settings
    res = take(
        deps.aws(),
        s,
        now=deps.clock(),
        waiting=Waiting(timeout_s=deps.snapshot_timeout_s),
    )
    out: dict[str, Any] = {
        "instance": res.instance,
        "region": res.region,
        "identifier": res.identifier,
        "copies": [
            {"region": c.region, "identifier": c.identifier, "kms_key_id": c.kms_key_id}
            for c in res.copies
        ],
        "kept": sorted(f"{v.region}:{v.identifier}" for v in res.retention if v.keep),
        "deleted": res.deleted,
    }
    if res.deleted:
        _rds_audit(
            ctx, out, "rds-snapshot-expire", {"instance": s.instance, "deleted": res.deleted}
        )
    return out


def _rds_export(ctx: JobContext) -> dict[str, Any]:
    """`pgdr rds export` on schedule: the newest pgdr snapshot exported and normalised into
    pgdr's export format; audited in the repository, as the command does."""
    from pgdr.rds.export import run_export
    from pgdr.rds.wait import Waiting

    deps = ctx.needs(ctx.deps.rds, "[rds] section (instance to export)")
    s = deps.settings
    now = deps.clock()
    res = run_export(
        deps.aws(),
        s,
        now=now,
        waiting=Waiting(timeout_s=deps.export_timeout_s),
        export_id=deps.export_id(now) if deps.export_id else None,
    )
    out: dict[str, Any] = {
        "export_id": res.export_id,
        "snapshot": res.snapshot,
        "task": res.task,
        "location": res.location,
        "tables": res.tables,
        "rows": res.rows,
        "bytes": res.bytes,
    }
    details = {"instance": s.instance, "export_id": res.export_id, "snapshot": res.snapshot}
    _rds_audit(ctx, out, "rds-export", details)
    return out


def _rds_audit(ctx: JobContext, out: dict[str, Any], action: str, details: dict[str, Any]) -> None:
    """The change happened on AWS already: an unreachable repository is a warning in the
    job's result (the job stands), as `pgdr rds …` prints one."""
    from pgdr import audit
    from pgdr.errors import PgdrError

    try:
        ctx.using_repo(lambda repo: audit.record(repo, action, details))
    except PgdrError as e:
        out["warning"] = f"{action} done but not audited: {e.message}"


KINDS: tuple[JobKind, ...] = (
    JobKind("backup_full", "backup", True, _backup("full"), "full base backup"),
    JobKind("backup_incr", "backup", True, _backup("incr"), "incremental base backup"),
    JobKind("verify", "verify", False, _verify, "repository verify"),
    JobKind("drill", "drill", False, _drill, "restore drill into a sandbox"),
    JobKind("rds_drill", "drill", False, _rds_drill, "restore drill of the RDS instance"),
    JobKind("expire", "expire", False, _expire, "retention policy and garbage collection"),
    JobKind("export", "export", False, _export, "Parquet export of a restored backup"),
    JobKind("rds_snapshot", "rds", False, _rds_snapshot, "RDS manual snapshot, DR copies"),
    JobKind("rds_export", "rds", False, _rds_export, "RDS snapshot export to Parquet"),
)
REGISTRY: dict[str, JobKind] = {k.name: k for k in KINDS}

#: Schedulable in the configuration, not implemented in this build: never run.
UNAVAILABLE: dict[str, str] = {}
