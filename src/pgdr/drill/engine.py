"""One drill, step by step, each step timed: the instance provider's steps (a sandbox's
fetch, instance creation and WAL replay; an RDS restore's baseline and instance creation),
then connectivity, validation, the provider's integrity checks, cleanup. The recovery steps
add up to the measured RTO. Cleanup always runs — on failure, on Ctrl-C or SIGTERM, on a
check that crashes — unless --keep; what a SIGKILLed drill left is removed by the next one.
The engine does not care how the instance came to be (``pgdr.drill.provider``)."""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from pgdr import audit
from pgdr.drill import probes, record, validate
from pgdr.drill.events import drill_event
from pgdr.drill.provider import Instance, InstanceProvider
from pgdr.drill.record import DrillRecord, new_drill_id
from pgdr.drill.sandbox_provider import SandboxProvider
from pgdr.drill.settings import DatabaseChecks, DrillSettings
from pgdr.drill.steps import StepClock, sigterm_ignored, sigterm_interrupts
from pgdr.drill.verdicts import CheckResult, failure_message, judge_connectivity, overall
from pgdr.errors import (
    ConfigError,
    Interrupted,
    PgdrError,
    PostgresError,
    RecoveryTargetUnreachable,
    UsageError,
)
from pgdr.notify.base import Notifier, send_all
from pgdr.paths import default_state_dir
from pgdr.pg.connect import connect
from pgdr.repo.repository import Repository


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


def run_drill(
    repo: Repository,
    settings: DrillSettings,
    req: DrillRequest,
    env: DrillEnv,
    provider: InstanceProvider | None = None,
) -> DrillRecord:
    """One drill with ``provider``'s instance (default: a sandbox restored from ``repo``);
    the record is stored in ``repo`` either way."""
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
    if provider is None:
        provider = SandboxProvider(repo, settings, req, env, state_dir, started)
    reaped = provider.reap()
    if reaped:
        env.say(f"removed {len(reaped)} {provider.kind} instance(s) left behind by killed drills")
    prev = record.previous(repo, rec.id)
    clock = StepClock()
    stopped = bad_input = False
    t0 = time.monotonic()
    try:
        with sigterm_interrupts():
            instance = provider.bring_up(rec, clock)
            _validate(settings, env, rec, clock, prev, instance, provider.rto_excludes)
            provider.integrity(rec, clock)
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
            provider.teardown(rec, req.keep and not stopped and not bad_input)
    rec.steps = clock.steps
    rec.total_seconds = round(time.monotonic() - t0, 3)
    rec.rto_seconds = round(
        rec.total_seconds - sum(s.seconds for s in clock.steps if s.name in provider.rto_excludes),
        3,
    )
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
        raise Interrupted(f"drill {rec.id} interrupted; {provider.kind} removed, record stored")
    return rec


def _conclude(rec: DrillRecord, settings: DrillSettings) -> None:
    if rec.error:
        rec.result = "failed"
        rec.message = f"drill failed during {rec.error['step']}: {rec.error['message']}"
        return
    if settings.max_rto_s is not None and rec.rto_seconds > settings.max_rto_s:
        rec.checks.append(
            CheckResult(
                "rto",
                "warn",
                f"RTO {rec.rto_seconds:.0f} s exceeds the target {settings.max_rto_s:g} s",
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


def _validate(
    settings: DrillSettings,
    env: DrillEnv,
    rec: DrillRecord,
    clock: StepClock,
    prev: DrillRecord | None,
    instance: Instance,
    not_recovery: tuple[str, ...],
) -> None:
    catalog = instance.catalog
    home = instance.default_database
    specs: dict[str, DatabaseChecks] = dict(settings.databases) or {home: DatabaseChecks()}
    conns: dict[str, psycopg.Connection[Any]] = {}
    try:
        with clock.step("connectivity"):
            for db in specs:
                try:
                    ms = probes.connect_ms(instance.conninfo(db))
                    conns[db] = connect(instance.conninfo(db))
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
        rec.ready_seconds = round(  # every recovery step until now
            sum(s.seconds for s in clock.steps if s.name not in not_recovery), 3
        )
        replayed = probes.last_replayed(next(iter(conns.values()))) if conns else None
        floor: dict[str, datetime | None] = (
            {"last replayed transaction": replayed}
            if replayed
            else {"backup start": instance.floor}
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
                    conns[db], db, spec, facts, settings, instance.reference, floor, baselines
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
