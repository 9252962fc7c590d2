"""When a job kind runs (pure): folding new slots into one pending run, the missed-run policy,
retries with backoff. Table-tested in tests/unit/test_daemon_policy.py.

Policy, stated once (docs/design.md §8h):

* A kind runs at most one job at a time. Slots that come due while a job of the kind runs or
  waits for a retry are coalesced into one pending run, which records how many slots it
  stands in for (``missed``); no slot is ever run twice.
* Missed runs: at start, a kind whose newest slot is later than its last recorded run runs
  once, right away, however many slots passed while the daemon was down (they are counted in
  ``missed``). A kind with no recorded run at all waits for its first slot after the start.
* Failures that the environment can fix (storage unreachable, database down, WAL not yet
  archived, lock held) are retried with exponential backoff until they succeed or a newer
  slot supersedes them; other failures (verify found damage, a bug) end the run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import psycopg

from pgdr.daemon.cron import Schedule
from pgdr.errors import (
    NotARepository,
    PgdrError,
    PostgresError,
    RepositoryLocked,
    StorageError,
)


@dataclass(frozen=True)
class KindState:
    kind: str
    last_slot: datetime | None = None  # newest slot with a recorded (final) run
    pending: datetime | None = None  # due slot waiting to run (or to be retried)
    missed: int = 0  # earlier slots the pending run stands in for
    attempts: int = 0  # failed attempts at the pending slot so far
    retry_at: datetime | None = None
    last_error: str | None = None
    running: datetime | None = None
    running_missed: int = 0

    @property
    def newest(self) -> datetime | None:
        known = [s for s in (self.last_slot, self.pending, self.running) if s is not None]
        return max(known) if known else None


def advance(schedule: Schedule, st: KindState, now: datetime, started: datetime) -> KindState:
    """Fold the slots that came due up to ``now`` into the pending run."""
    latest = schedule.latest(now)
    newest = st.newest
    if latest is None or (newest is not None and latest <= newest):
        return st
    if newest is None:
        if latest < started:  # never ran: wait for the first slot after the start
            return st
        return replace(st, pending=latest, missed=0, attempts=0, retry_at=None)
    new_slots = schedule.slots_between(newest, latest)
    if st.pending is not None:  # the waiting run is superseded by the newest slot
        return replace(st, pending=latest, missed=st.missed + new_slots, attempts=0, retry_at=None)
    return replace(st, pending=latest, missed=max(0, new_slots - 1), attempts=0, retry_at=None)


def ready(st: KindState, now: datetime) -> bool:
    return (
        st.pending is not None
        and st.running is None
        and (st.retry_at is None or now >= st.retry_at)
    )


def start(st: KindState) -> KindState:
    assert st.pending is not None
    return replace(st, running=st.pending, running_missed=st.missed, pending=None, missed=0)


def finished(st: KindState) -> KindState:
    """The running job ended for good (success, or a failure not worth retrying)."""
    return replace(
        st,
        last_slot=st.running,
        running=None,
        running_missed=0,
        attempts=0,
        retry_at=None,
        last_error=None,
    )


def failed_retryable(
    st: KindState, now: datetime, error: str, base_s: float, max_s: float
) -> KindState:
    """The running job failed in a way the environment can fix: retry it later, unless a
    newer slot came due meanwhile, which then stands in for it too."""
    if st.pending is not None:
        return replace(
            st,
            running=None,
            missed=st.missed + 1 + st.running_missed,
            running_missed=0,
            attempts=0,
            retry_at=None,
            last_error=error,
        )
    attempts = st.attempts + 1
    return replace(
        st,
        pending=st.running,
        missed=st.running_missed,
        running=None,
        running_missed=0,
        attempts=attempts,
        retry_at=now + timedelta(seconds=backoff(attempts, base_s, max_s)),
        last_error=error,
    )


def backoff(attempts: int, base_s: float, max_s: float) -> float:
    """base, 2·base, 4·base, … capped at max."""
    return float(min(max_s, base_s * 2 ** max(0, attempts - 1)))


def retryable(err: BaseException) -> bool:
    """Whether a failed job is worth running again for the same slot."""
    if isinstance(err, PgdrError):
        if err.retryable or isinstance(
            err, StorageError | NotARepository | PostgresError | RepositoryLocked
        ):
            return True
        return err.kind in ("wal-missing",)
    # a connection lost mid-job surfaces as a driver error; the database may be back later
    return isinstance(err, OSError | psycopg.OperationalError)
