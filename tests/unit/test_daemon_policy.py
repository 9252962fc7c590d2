"""The scheduling policy: coalescing due slots into one run, the missed-run policy at start,
retries with backoff, and which failures are worth retrying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from pgdr.daemon.cron import Schedule
from pgdr.daemon.policy import (
    KindState,
    advance,
    backoff,
    failed_retryable,
    finished,
    ready,
    retryable,
    start,
)
from pgdr.errors import (
    ConfigError,
    NotARepository,
    PostgresError,
    RepositoryLocked,
    StorageUnreachable,
    VerifyFailed,
)

pytestmark = pytest.mark.unit
EVERY10 = Schedule.parse("@every 10s")
T0 = datetime(2026, 11, 24, 3, 0, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@pytest.mark.parametrize(
    ("state", "now", "pending", "missed"),
    [
        # never ran: slots before the start are not run; the first slot after it is
        (KindState("k"), at(5), None, 0),
        (KindState("k"), at(10), at(10), 0),
        # ran at slot 0: the next slot is due at 10, not before
        (KindState("k", last_slot=at(0)), at(9), None, 0),
        (KindState("k", last_slot=at(0)), at(10), at(10), 0),
        # down over three slots: one run at start, standing in for the two before it
        (KindState("k", last_slot=at(0)), at(35), at(30), 2),
        # a run is waiting for a retry and a new slot arrives: it is superseded
        (KindState("k", last_slot=at(0), pending=at(10), attempts=3), at(21), at(20), 1),
        (KindState("k", last_slot=at(0), pending=at(10), missed=2), at(30), at(30), 4),
        # a job runs while a new slot arrives: it waits, standing in for nothing
        (KindState("k", last_slot=at(0), running=at(10)), at(20), at(20), 0),
        (KindState("k", last_slot=at(0), running=at(10)), at(40), at(40), 2),
        # nothing new
        (KindState("k", last_slot=at(0), running=at(10)), at(19), None, 0),
    ],
)
def test_advance(state: KindState, now: datetime, pending: datetime | None, missed: int) -> None:
    started = at(1)  # the daemon started just after slot 0
    st = advance(EVERY10, state, now, started)
    assert (st.pending, st.missed) == (pending, missed)
    if pending is not None and pending != state.pending:
        assert st.attempts == 0 and st.retry_at is None


def test_run_then_retry_then_success() -> None:
    st = advance(EVERY10, KindState("k", last_slot=at(0)), at(10), at(1))
    assert ready(st, at(10))
    st = start(st)
    assert st.running == at(10) and st.pending is None and not ready(st, at(10))
    st = failed_retryable(st, at(11), "database down", 1.0, 60.0)
    assert (st.pending, st.attempts, st.retry_at) == (at(10), 1, at(12))
    assert not ready(st, at(11.5)) and ready(st, at(12))
    st = failed_retryable(start(st), at(12), "still down", 1.0, 60.0)
    assert (st.attempts, st.retry_at) == (2, at(14))
    st = finished(start(st))
    assert st.last_slot == at(10) and st.pending is None and st.last_error is None


def test_retryable_failure_after_a_newer_slot_came_due() -> None:
    st = start(advance(EVERY10, KindState("k", last_slot=at(0)), at(10), at(1)))
    st = advance(EVERY10, st, at(20), at(1))  # slot 20 came due while 10 was running
    assert st.pending == at(20)
    st = failed_retryable(st, at(21), "repository unreachable", 1.0, 60.0)
    assert (st.pending, st.missed, st.attempts, st.running) == (at(20), 1, 0, None)
    assert ready(st, at(21))


@pytest.mark.parametrize(
    ("attempts", "expected"), [(1, 30.0), (2, 60.0), (3, 120.0), (5, 480.0), (9, 900.0)]
)
def test_backoff(attempts: int, expected: float) -> None:
    assert backoff(attempts, 30.0, 900.0) == expected


@pytest.mark.parametrize(
    ("err", "retry"),
    [
        (StorageUnreachable("x"), True),
        (NotARepository("moved away"), True),
        (PostgresError("connection refused"), True),
        (RepositoryLocked("gc runs"), True),
        (OSError("EIO"), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (VerifyFailed("damage"), False),
        (ConfigError("bad"), False),
        (ValueError("a bug"), False),
    ],
)
def test_retryable(err: BaseException, retry: bool) -> None:
    assert retryable(err) is retry


def test_wal_missing_is_retryable() -> None:
    from pgdr.errors import WalMissing

    assert retryable(WalMissing("WAL did not arrive"))
