"""The scheduler: every tick, fold due slots into each kind's pending run (``policy``), start
what is ready on a worker thread (one job per group at a time), and record how it ended.

Nothing is dispatched until the job history has been read from the repository once: the
missed-run policy needs to know when each kind last ran.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pgdr.daemon import policy
from pgdr.daemon.cron import Schedule
from pgdr.daemon.handle import RepoHandle
from pgdr.daemon.history import JobHistory, JobRecord, new_record_id
from pgdr.daemon.jobs import JobKind
from pgdr.daemon.policy import KindState
from pgdr.errors import PgdrError

log = logging.getLogger(__name__)
RunJob = Callable[[JobKind, datetime], dict[str, Any]]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Planned:
    kind: JobKind
    schedule: Schedule


class Scheduler:
    def __init__(
        self,
        planned: list[Planned],
        run_job: RunJob,
        history: JobHistory,
        handle: RepoHandle,
        *,
        retry_s: float,
        retry_max_s: float,
        clock: Clock = utcnow,
    ) -> None:
        self.planned = planned
        self.run_job = run_job
        self.history = history
        self.handle = handle
        self.retry_s, self.retry_max_s = retry_s, retry_max_s
        self.clock = clock
        self.started = clock()
        self.states = {p.kind.name: KindState(p.kind.name) for p in planned}
        self.failed_attempts: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._threads: dict[str, threading.Thread] = {}
        self._primed = False

    def tick(self) -> None:
        now = self.clock()
        with self._lock:
            if not self._primed:
                if not self.history.loaded:
                    return  # the repository has not been read yet
                for name in self.states:
                    last = self.history.last_slot(name)
                    st = self.states[name]
                    self.states[name] = KindState(name, last_slot=last) if st.newest is None else st
                self._primed = True
            for p in self.planned:
                name = p.kind.name
                self.states[name] = policy.advance(p.schedule, self.states[name], now, self.started)
            if self.stopping.is_set():
                return
            for p in self.planned:
                st = self.states[p.kind.name]
                if p.kind.group in self._busy or not policy.ready(st, now):
                    continue
                st = self.states[p.kind.name] = policy.start(st)
                self._busy.add(p.kind.group)
                t = threading.Thread(
                    target=self._run,
                    args=(p.kind, st.running, st.running_missed, st.attempts),
                    name=f"job-{p.kind.name}",
                    daemon=True,  # past the shutdown grace the process exits anyway
                )
                self._threads[p.kind.group] = t
                t.start()

    def _run(self, kind: JobKind, slot: datetime, missed: int, attempts: int) -> None:
        started = self.clock()
        log.info("job %s for slot %s started", kind.name, slot.isoformat())
        self.history.begin(kind.name, slot.isoformat())
        try:
            self._attempt(kind, slot, missed, attempts, started)
        finally:
            self.history.end(kind.name, slot.isoformat())

    def _attempt(
        self, kind: JobKind, slot: datetime, missed: int, attempts: int, started: datetime
    ) -> None:
        result: dict[str, Any] = {}
        error: BaseException | None = None
        try:
            result = self.run_job(kind, slot)
        except Exception as e:
            error = e
        finished = self.clock()
        msg = _message(error) if error is not None else None
        if error is not None and policy.retryable(error):
            log.warning("job %s failed, will retry: %s", kind.name, msg)
            with self._lock:
                self.failed_attempts[kind.name] += 1
                st = self.states[kind.name]
                self.states[kind.name] = policy.failed_retryable(
                    st, finished, msg or "", self.retry_s, self.retry_max_s
                )
                self._busy.discard(kind.group)
            return
        if error is not None:
            log.warning("job %s failed: %s", kind.name, msg)
        rec = JobRecord(
            id=new_record_id(kind.name, slot),
            kind=kind.name,
            slot=slot.isoformat(),
            started=started.isoformat(),
            finished=finished.isoformat(),
            status="failed" if error is not None else "success",
            attempts=attempts + 1,
            missed=missed,
            error=msg,
            error_kind=(error.kind if isinstance(error, PgdrError) else "internal")
            if error is not None
            else None,
            result=result,
        )
        self._record(rec)
        with self._lock:
            if error is not None:
                self.failed_attempts[kind.name] += 1
            self.states[kind.name] = policy.finished(self.states[kind.name])
            self._busy.discard(kind.group)
        log.info("job %s for slot %s: %s", kind.name, slot.isoformat(), rec.status)

    def _record(self, rec: JobRecord) -> None:
        try:
            with self.handle.use() as repo:
                self.history.add(rec, repo)
        except PgdrError:
            self.history.add(rec, None)  # kept in the outbox until the repository is back

    def running(self) -> list[str]:
        with self._lock:
            return [n for n, st in self.states.items() if st.running is not None]

    def stop(self, grace_s: float) -> bool:
        """Start no more jobs; wait up to ``grace_s`` for running ones. True when none is
        left running."""
        self.stopping.set()
        deadline = self.clock().timestamp() + grace_s
        for t in list(self._threads.values()):
            t.join(max(0.0, deadline - self.clock().timestamp()))
        return not any(t.is_alive() for t in self._threads.values())

    def snapshot(self) -> list[dict[str, Any]]:
        now = self.clock()
        out = []
        with self._lock:
            for p in self.planned:
                st = self.states[p.kind.name]
                nxt = p.schedule.next(now)
                out.append(
                    {
                        "kind": p.kind.name,
                        "schedule": p.schedule.expr,
                        "next": nxt.isoformat() if nxt else None,
                        "last_slot": _iso(st.last_slot),
                        "running": _iso(st.running),
                        "pending": _iso(st.pending),
                        "attempts": st.attempts,
                        "retry_at": _iso(st.retry_at),
                        "last_error": st.last_error,
                        "failed_attempts": self.failed_attempts[p.kind.name],
                    }
                )
        return out


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _message(e: BaseException) -> str:
    if isinstance(e, PgdrError):
        return e.message
    return f"{type(e).__name__}: {e}"
