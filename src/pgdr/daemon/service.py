"""`pgdr serve` assembled: state directory and its lock, the scheduler loop, the evaluation
loop (facts -> alerts -> notifications, metrics), signals and an orderly shutdown.

SIGTERM/SIGINT: no new job starts; running jobs get ``shutdown_grace_s`` to finish and record
their result; past that the process exits anyway. That is safe: a backup without its manifest
does not exist (PostgreSQL ends the backup when our connection closes), its lock is stale once
our pid is gone, and the slot had no record, so the next start runs it (missed-run policy).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Protocol

from pgdr.daemon.alert_delivery import AlertBook, Deliver
from pgdr.daemon.alert_rules import conditions, step
from pgdr.daemon.collect_exports import ExportCollector
from pgdr.daemon.collect_repo import RepoCollector
from pgdr.daemon.cron import Schedule
from pgdr.daemon.facts import Facts, RdsFact
from pgdr.daemon.handle import Opener, RepoHandle
from pgdr.daemon.history import JobHistory
from pgdr.daemon.jobs import REGISTRY, JobContext, JobDeps, JobKind
from pgdr.daemon.metrics import View, render
from pgdr.daemon.presence import LOCK_NAME, lock_line, presence
from pgdr.daemon.scheduler import Planned, Scheduler
from pgdr.daemon.series import dashboard_series
from pgdr.daemon.settings import AlertSettings, DaemonSettings, ScheduleSettings, WebSettings
from pgdr.daemon.snapshot import FactCollector
from pgdr.daemon.status import StatusReport, build_status
from pgdr.errors import ConfigError, DaemonAlreadyRunning, DaemonError
from pgdr.localfs import open_private, private_dir
from pgdr.paths import default_state_dir
from pgdr.replicate.follow import ReplicaLink

log = logging.getLogger(__name__)


class Service(Protocol):
    """Something that runs beside the scheduler (the web server)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class DaemonDeps:
    open_repo: Opener
    repo_url: str
    conninfo: str
    data_dir: Path | None
    schedule: ScheduleSettings
    alerts: AlertSettings
    daemon: DaemonSettings
    web: WebSettings = field(default_factory=WebSettings)
    deliver: Deliver | None = None
    #: What the job kinds need from the configuration (retention, drill, follow-ups).
    jobs: JobDeps = field(default_factory=JobDeps)
    #: Second repositories this one replicates into (``replicate_to``): their lag is watched.
    replicas: list[ReplicaLink] = field(default_factory=list)
    #: RDS mode: the [rds] instance's PITR state, collected every evaluation.
    rds: Callable[[], RdsFact] | None = None
    #: The [exports] target, watched every evaluation (None: not watched).
    exports: ExportCollector | None = None


def planned_jobs(schedule: ScheduleSettings) -> list[Planned]:
    out = []
    for kind, expr in schedule.expressions().items():
        try:
            sched = Schedule.parse(expr)
        except ValueError as e:
            raise ConfigError(f"[schedule] {kind} = {expr!r}: {e}") from None
        if kind in REGISTRY and not sched.off:
            out.append(Planned(REGISTRY[kind], sched))
    return out


class Daemon:
    def __init__(self, deps: DaemonDeps) -> None:
        self.deps = deps
        self.state_dir = deps.daemon.state_dir or default_state_dir()
        self._lockfile = _lock_state_dir(self.state_dir)
        self.jobs = JobHistory(self.state_dir / "outbox")
        self.handle = RepoHandle(deps.open_repo)
        self.collector = FactCollector(
            RepoCollector(self.handle, self.jobs, deps.repo_url, replicas=deps.replicas),
            deps.conninfo,
            deps.data_dir,
            deps.rds,
            deps.exports,
        )
        self.book = AlertBook(self.state_dir / "alerts.json", deps.deliver)
        self.scheduler = Scheduler(
            planned_jobs(deps.schedule),
            self._run_job,
            self.jobs,
            self.handle,
            retry_s=deps.daemon.retry_s,
            retry_max_s=deps.daemon.retry_max_s,
        )
        self.facts: Facts | None = None
        self.stop_event = threading.Event()
        self._wake = threading.Event()

    # --- the two loops -------------------------------------------------------------------

    def _run_job(self, kind: JobKind, slot: Any) -> dict[str, Any]:
        ctx = JobContext(
            kind=kind.name,
            slot=slot,
            open_repo=self.deps.open_repo,
            conninfo=self.deps.conninfo,
            data_dir=self.deps.data_dir,
            verify_read_data=self.deps.schedule.verify_read_data,
            deps=self.deps.jobs,
        )
        try:
            return kind.run(ctx)
        finally:
            self._wake.set()  # refresh facts and alerts right after every job

    def evaluate(self) -> Facts:
        facts = self.collector.collect()
        s = self.deps.alerts
        self.book.update(conditions(facts, s), facts.time, s.for_s)
        self.facts = facts
        return facts

    def _eval_loop(self) -> None:
        while not self.stop_event.is_set():
            self._wake.clear()
            try:
                self.evaluate()
            except Exception:  # a bug in one evaluation must not stop the daemon
                log.exception("evaluation failed")
            self._wake.wait(self.deps.daemon.eval_interval_s)

    def run(self, services: Sequence[Service] = ()) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        started: list[Service] = []
        try:
            for s in services:
                s.start()
                started.append(s)
            evaluator = threading.Thread(target=self._eval_loop, name="evaluate", daemon=True)
            evaluator.start()
            log.info("pgdr daemon started (state %s)", self.state_dir)
            while not self.stop_event.is_set():
                self.scheduler.tick()
                self.stop_event.wait(0.25)
            running = self.scheduler.running()
            if running:
                log.info("stopping: waiting for %s", ", ".join(running))
            if not self.scheduler.stop(self.deps.daemon.shutdown_grace_s):
                log.warning("stopping: %s still running; exiting anyway", self.scheduler.running())
            self._wake.set()
            evaluator.join(30)
        finally:
            for s in reversed(started):
                s.stop()
            self.handle.close()
            with contextlib.suppress(OSError):  # `pgdr status`: stopped in order
                self._lockfile.seek(0)
                self._lockfile.truncate()
        log.info("pgdr daemon stopped")
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_event.set()
        self._wake.set()

    # --- what the web server and metrics read ---------------------------------------------

    def view(self) -> View:
        return View(self.facts, self.book.snapshot(), self.scheduler.snapshot(), self.deps.alerts)

    def metrics(self) -> bytes:
        return render(self.view())

    def history(self) -> dict[str, Any] | None:
        if self.facts is None:
            return None
        out = dashboard_series(self.facts, export_grace_s=self.deps.alerts.export_grace_s)
        out["limits"] = {
            "backup_max_age_s": self.deps.alerts.backup_max_age_s,
            "storage_free_min_pct": self.deps.alerts.storage_free_min_pct,
        }
        return out

    def job_records(self, kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The job history, newest first."""
        return [asdict(r) for r in reversed(self.jobs.all(kind))][:limit]

    def status(self) -> StatusReport | None:
        if self.facts is None:
            return None
        report = build_status(
            self.facts,
            self.book.snapshot(),
            self.deps.schedule.expressions(),
            self.scheduler.snapshot(),
            self.deps.alerts.export_grace_s,
        )
        report.daemon = {
            "running": True,
            "pid": os.getpid(),
            "state_dir": str(self.state_dir),
            "started": self.scheduler.started.isoformat(),
            "unsent_records": self.jobs.unsent(),
            "undelivered_notifications": len(self.book.undelivered),
        }
        return report


def current_status(deps: DaemonDeps) -> StatusReport:
    """The picture right now, without a daemon (`pgdr status`): collect, evaluate every
    alert statelessly (a condition that holds is firing), read-only."""
    history = JobHistory(None)
    handle = RepoHandle(deps.open_repo)
    try:
        repo = RepoCollector(handle, history, deps.repo_url, maintain=False, replicas=deps.replicas)
        facts = FactCollector(repo, deps.conninfo, deps.data_dir, deps.rds, deps.exports).collect()
    finally:
        handle.close()
    states, _ = step({}, conditions(facts, deps.alerts), facts.time, 0.0)
    report = build_status(
        facts, states, deps.schedule.expressions(), export_grace_s=deps.alerts.export_grace_s
    )
    report.daemon = presence(deps.daemon.state_dir or default_state_dir())
    return report


def _lock_state_dir(state_dir: Path) -> IO[str]:
    try:
        private_dir(state_dir)
        f = open_private(state_dir / LOCK_NAME, "a+")  # held for the process' life
    except OSError as e:
        raise DaemonError(
            f"state directory {state_dir} is not usable: {e.strerror}",
            hint="set [daemon] state_dir or PGDR_STATE_DIR to a writable directory",
        ) from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise DaemonAlreadyRunning(
            f"another pgdr daemon ({holder}) is running with state directory {state_dir}"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(lock_line(os.getpid(), datetime.now(UTC)))
    f.flush()
    return f
