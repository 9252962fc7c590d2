"""One drill, step by step, each step timed: fetch (plan + restore the files), instance
creation, WAL replay (until promoted), connectivity, validation, integrity, cleanup. The
total is the measured RTO. Cleanup always runs — on failure, on Ctrl-C or SIGTERM, on a
check that crashes — unless --keep; a SIGKILLed drill is cleaned up by the next one."""

from __future__ import annotations

import getpass
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from pgdr import audit
from pgdr.catalog.manifest import BackupManifest
from pgdr.drill import integrity, probes, record, validate
from pgdr.drill.choose import choose
from pgdr.drill.events import drill_event
from pgdr.drill.record import DrillRecord, new_drill_id
from pgdr.drill.sandbox import Sandbox, reap, sandbox_settings
from pgdr.drill.settings import DatabaseChecks, DrillSettings
from pgdr.drill.steps import StepClock, sigterm_ignored, sigterm_interrupts
from pgdr.drill.verdicts import CheckResult, failure_message, judge_connectivity, overall
from pgdr.errors import (
    ConfigError,
    IntegrityError,
    Interrupted,
    PgdrError,
    PostgresError,
    RecoveryTargetUnreachable,
    UsageError,
)
from pgdr.notify.base import Notifier, send_all
from pgdr.paths import default_state_dir
from pgdr.pg.cluster import Cluster
from pgdr.pg.connect import connect
from pgdr.pg.recovery_watch import exit_error, wait_for_target
from pgdr.repo.repository import Repository
from pgdr.restore.commands import hand_over_command
from pgdr.restore.run import RestoreSource, restore

READY_STEPS = ("fetch", "instance creation", "wal replay", "connectivity")


@dataclass
class DrillRequest:
    backup: str = "latest"  # latest | random | id or label
    target: str = "latest"  # latest | random | ISO time
    keep: bool = False
    seed: int | None = None


@dataclass
class DrillEnv:
    """How the drill reaches what is outside the repository. (The sandbox itself reaches
    nothing: the drill places all the WAL it needs before the start.)"""

    production: Callable[[str], str] | None = None  # database -> production conninfo
    notifiers: list[Notifier] = field(default_factory=list)
    superuser: str = "postgres"
    default_database: str = "postgres"
    bindir: Path | None = None
    say: Callable[[str], None] = lambda _text: None


def _error(step: str, kind: str, code: int, message: str) -> dict[str, Any]:
    return {"step": step, "kind": kind, "exit_code": code, "message": message}


def newest_wal_time(source: RestoreSource) -> datetime | None:
    """When production's newest WAL was stored: a side branch some restore archived is not
    what a drill replays (docs/design.md §8c), so its WAL does not move the latest target."""
    stored = source.wal.stored
    lineage = source.lineage()
    times = [when for t in lineage.path for when in stored.get(t, {}).values() if when is not None]
    return max(times) if times else None


def run_drill(
    repo: Repository, settings: DrillSettings, req: DrillRequest, env: DrillEnv
) -> DrillRecord:
    started = datetime.now(UTC)
    rec = DrillRecord(
        id=new_drill_id(started),
        started=started.isoformat(),
        host=socket.gethostname(),
        user=getpass.getuser(),
        pid=os.getpid(),
        repository={"url": repo.backend.url, "repo_id": repo.config.repo_id},
        request=asdict(req),
    )
    state_dir = settings.state_dir or default_state_dir()
    reaped = reap(state_dir)
    if reaped:
        env.say(f"removed {len(reaped)} sandbox(es) left behind by killed drills")
    prev = record.previous(repo, rec.id)
    clock = StepClock()
    made: list[Sandbox] = []
    stopped = bad_input = False
    t0 = time.monotonic()
    try:
        with sigterm_interrupts():
            _run_steps(repo, settings, req, env, rec, clock, prev, started, state_dir, made)
    except (UsageError, ConfigError):
        bad_input = True  # the operator's mistake, not a drill result: nothing recorded
        raise
    except (KeyboardInterrupt, Interrupted):
        stopped = True
        rec.error = _error(clock.current, "interrupted", 130, f"interrupted during {clock.current}")
    except RecoveryTargetUnreachable as e:  # the next step belongs in the record
        rec.error = _error(clock.current, e.kind, e.exit_code, f"{e.message}; {e.hint}")
    except PgdrError as e:
        rec.error = _error(clock.current, e.kind, e.exit_code, e.message)
    except Exception as e:  # a bug must still end in cleanup and a failed record
        rec.error = _error(clock.current, "internal", 70, f"{type(e).__name__}: {e}")
    finally:
        with clock.step("cleanup"), sigterm_ignored():
            _cleanup(rec, made[0] if made else None, req.keep and not stopped and not bad_input)
    rec.steps = clock.steps
    rec.total_seconds = rec.rto_seconds = round(time.monotonic() - t0, 3)
    _conclude(rec, settings)
    rec.finished = datetime.now(UTC).isoformat()
    event = drill_event(rec, prev)
    wanted = set(settings.notify) if settings.notify is not None else None
    targets = [n for n in env.notifiers if wanted is None or n.name in wanted]
    rec.notifications = [asdict(d) for d in send_all(targets, event)]
    record.store(repo, rec)
    details = {k: v for k, v in rec.audit().items() if k not in ("action", "actor", "pid", "time")}
    audit.record(repo, "drill", details)  # who/where/when are the entry's own
    if stopped:
        raise Interrupted(f"drill {rec.id} interrupted; sandbox removed, record stored")
    return rec


def _cleanup(rec: DrillRecord, sandbox: Sandbox | None, keep: bool) -> None:
    if sandbox is None:
        return
    if keep:
        sandbox.keep()
        rec.sandbox["kept"] = True
        return
    sandbox.destroy()
    rec.sandbox["removed"] = not sandbox.base.exists()


def _conclude(rec: DrillRecord, settings: DrillSettings) -> None:
    if rec.error:
        rec.result = "failed"
        rec.message = f"drill failed during {rec.error['step']}: {rec.error['message']}"
        return
    if settings.max_rto_s is not None and rec.total_seconds > settings.max_rto_s:
        rec.checks.append(
            CheckResult(
                "rto",
                "warn",
                f"RTO {rec.total_seconds:.0f} s exceeds the target {settings.max_rto_s:g} s",
            )
        )
    status = overall(rec.checks)
    rec.result = {"pass": "passed", "warn": "warning", "fail": "failed"}[status]
    if status == "fail":
        rec.message = f"drill failed: {failure_message(rec.checks)}"
    else:
        warns = [c.name for c in rec.checks if c.status == "warn"]
        rec.message = f"drill passed in {rec.total_seconds:.1f} s" + (
            f" with warnings: {', '.join(warns)}" if warns else ""
        )


def _run_steps(
    repo: Repository,
    settings: DrillSettings,
    req: DrillRequest,
    env: DrillEnv,
    rec: DrillRecord,
    clock: StepClock,
    prev: DrillRecord | None,
    started: datetime,
    state_dir: Path,
    made: list[Sandbox],
) -> None:
    if True:
        with clock.step("fetch"):
            source = RestoreSource.read(repo)  # every manifest read once, for the whole drill
            backups, damaged = source.backups.manifests, source.backups.damaged
            if not backups and damaged:  # damaged is not "no backups"
                bid, why = min(damaged.items())
                raise IntegrityError(f"backup {bid} cannot be drilled: {why}")
            choice = choose(
                backups,
                req.backup,
                req.target,
                newest_wal_time(source),
                started,
                random.Random(req.seed),
            )
            doc = next(b for b in backups if b.id == choice.backup_id)
            rec.backup = {
                "id": doc.id,
                "label": doc.label,
                "type": doc.type,
                "start_time": doc.start_time.isoformat(),
                "stop_time": doc.stop_time.isoformat(),
                "timeline": doc.timeline,
            }
            rec.target = {
                "kind": choice.target.kind,
                "value": choice.target.value,
                "reference_time": choice.reference.isoformat(),
            }
            env.say(f"restoring backup {choice.backup_id} to {choice.target.describe()}")
            sandbox = Sandbox.create(settings.sandbox_dir, state_dir, rec.id, env.superuser)
            made.append(sandbox)
            rec.sandbox = {"dir": str(sandbox.base), "port": sandbox.port}
            restored = restore(
                repo,
                sandbox.data_dir,
                target=choice.target,
                restore_command=hand_over_command(),
                backup=choice.backup_id,
                place_all_wal=True,  # the sandbox gets no key: it never fetches WAL itself
                source=source,
                # production's tablespace paths (named by the manifest) are not the drill's
                tablespaces_under=sandbox.tablespaces,
            )
            rec.timeline = {
                "followed": restored.timeline,
                "backup": restored.backup_timeline,
                "production": restored.production_timeline,
                "role": restored.timeline_role,
            }
            env.say(f"following timeline {restored.timeline} ({restored.timeline_role})")
        with clock.step("instance creation"):
            try:
                cluster = sandbox.start(
                    sandbox_settings(sandbox.base, settings.shared_buffers),
                    settings.start_timeout_s,
                    env.bindir,
                    env.superuser,
                )
            except PostgresError:
                c = sandbox.cluster
                if c is None or c.is_running():
                    raise
                raise exit_error(c.log_since(0), "the sandbox", choice.target.describe()) from None
        with clock.step("wal replay"):
            wait_for_target(
                cluster,
                target=choice.target.describe(),
                promoted=True,
                timeout=settings.start_timeout_s,
                poll=0.1,
            )
            rec.reached = _reached(cluster, rec.timeline.get("followed"))
        _validate(repo, settings, env, rec, clock, prev, doc, cluster, choice.reference)
        with clock.step("integrity"):
            env.say("integrity: pg_amcheck, pg_checksums")
            on = integrity.checksums_enabled(cluster)
            if settings.amcheck:
                rec.checks += validate.guarded(
                    "amcheck", "*", lambda: integrity.amcheck(cluster, settings.amcheck_jobs)
                )
            cluster.stop("fast")
            if settings.checksums:
                rec.checks += validate.guarded(
                    "checksums", "*", lambda: integrity.checksums(cluster, on)
                )
            if req.keep:
                cluster.start()


def _reached(cluster: Cluster, followed: int | None) -> dict[str, Any]:
    """The LSN replay stopped at, on the timeline it followed (the report names both)."""
    rows = cluster.sql("SELECT pg_last_wal_replay_lsn()::text")
    return {"lsn": rows[0][0] if rows else None, "timeline": followed}


def _validate(
    repo: Repository,
    settings: DrillSettings,
    env: DrillEnv,
    rec: DrillRecord,
    clock: StepClock,
    prev: DrillRecord | None,
    backup: BackupManifest,
    cluster: Cluster,
    reference: datetime,
) -> None:
    catalog = backup.catalog
    home = catalog.database or env.default_database
    specs: dict[str, DatabaseChecks] = dict(settings.databases) or {home: DatabaseChecks()}
    conns: dict[str, psycopg.Connection[Any]] = {}
    try:
        with clock.step("connectivity"):
            for db in specs:
                try:
                    ms = probes.connect_ms(cluster.conninfo(db))
                    conns[db] = connect(cluster.conninfo(db))
                    rec.checks.append(
                        _tag(judge_connectivity(ms, None, settings.connect_warn_ms), db)
                    )
                    rec.connect_ms = ms if rec.connect_ms is None else min(rec.connect_ms, ms)
                except (psycopg.Error, PostgresError) as e:
                    rec.checks.append(
                        _tag(
                            judge_connectivity(None, validate._line(e), settings.connect_warn_ms),
                            db,
                        )
                    )
        rec.ready_seconds = round(sum(s.seconds for s in clock.steps if s.name in READY_STEPS), 3)
        replayed = probes.last_replayed(next(iter(conns.values()))) if conns else None
        floor: dict[str, datetime | None] = (
            {"last replayed transaction": replayed}
            if replayed
            else {"backup start": backup.start_time}
        )
        baselines = validate.Baselines(
            settings.performance_baseline,
            env.production,
            _previous_timings(prev),
            settings.query_timeout_s,
        )
        with clock.step("validation"):
            for db, spec in specs.items():
                if db not in conns:
                    continue
                env.say(f"validating database {db}")
                facts = (
                    validate.catalog_facts(catalog) if db == home and not catalog.empty else None
                )
                checks, data = validate.check_database(
                    conns[db], db, spec, facts, settings, reference, floor, baselines
                )
                rec.checks += checks
                rec.data[db] = data
                rpo = next(
                    (c.metrics.get("rpo_seconds") for c in checks if c.name == "recency"), None
                )
                if rpo is not None:
                    rec.rpo_seconds = rpo if rec.rpo_seconds is None else max(rec.rpo_seconds, rpo)
    finally:
        for c in conns.values():
            c.close()


def _tag(c: CheckResult, db: str) -> CheckResult:
    c.database = db
    return c


def _previous_timings(prev: DrillRecord | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in prev.checks if prev else []:
        if c.name.startswith("performance: ") and c.metrics.get("sandbox_ms") is not None:
            out[f"{c.database}/{c.name.removeprefix('performance: ')}"] = float(
                c.metrics["sandbox_ms"]
            )
    return out
