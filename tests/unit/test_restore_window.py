"""Restore targets against the recoverable window, and why a server stopped: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgdr.errors import RecoveryTargetUnreachable, ServerExited
from pgdr.pg.recovery_watch import clean_shutdown, exit_error
from pgdr.restore.plan import Target
from pgdr.restore.window import check_target, wal_end
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit
SEG = 16 << 20
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LAST_ARCHIVED = NOW - timedelta(hours=1)
BACKUPS = [manifest(id="b1", stop_time="2026-11-24T03:00:00+00:00", stop_lsn="0/3000100")]
RUN = ["000000010000000000000003", "000000010000000000000004", "000000010000000000000005"]
TIMES = {n: LAST_ARCHIVED - timedelta(minutes=10 * i) for i, n in enumerate(reversed(RUN))}
END = wal_end(RUN, SEG, TIMES)


def at(delta: timedelta) -> Target:
    return Target("time", (LAST_ARCHIVED + delta).isoformat())


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        (at(timedelta(hours=2)), "in the future"),
        (at(timedelta(minutes=30)), "after the end of the archived WAL"),
        (at(timedelta(seconds=61)), "after the end of the archived WAL"),
        (at(timedelta(seconds=30)), None),  # within clock skew: left to PostgreSQL
        (at(-timedelta(hours=2)), None),
        (Target("lsn", "0/5FFFFFF"), None),
        (Target("lsn", "0/6000000"), None),  # the very end of the last archived segment
        (Target("lsn", "0/6000001"), "--lsn 0/6000001 is after the end of the archived WAL"),
        (Target("latest"), None),
        (Target("xid", "1234"), None),
    ],
)
def test_targets_outside_the_window_are_refused(target: Target, refused: str | None) -> None:
    if refused is None:
        check_target(target, BACKUPS, END, "1", NOW)
        return
    with pytest.raises(RecoveryTargetUnreachable, match=refused) as e:
        check_target(target, BACKUPS, END, "1", NOW)
    assert "recoverable window on timeline 1 is 2026-11-24T03:00:00+00:00" in e.value.message
    assert "end of 000000010000000000000005" in e.value.message
    assert e.value.exit_code == 51 and "pg_switch_wal()" in str(e.value.hint)


def test_wal_end_is_the_end_of_the_newest_file_and_its_storage_time() -> None:
    assert END is not None and END.lsn == 6 * SEG and END.archived_at == LAST_ARCHIVED
    assert wal_end([], SEG, {}) is None


UNREACHED_LOG = """\
LOG:  restored log file "000000010000000000000005" from archive
FATAL:  the database system is not yet accepting connections
FATAL:  recovery ended before configured recovery target was reached
LOG:  startup process (PID 7) exited with exit code 1
FATAL:  the database system is shutting down
LOG:  database system is shut down
"""


def test_why_a_server_stopped() -> None:
    e = exit_error(UNREACHED_LOG, "/srv/r", "time 2026-11-24T12:00:00+00:00")
    assert isinstance(e, RecoveryTargetUnreachable) and e.exit_code == 51
    assert "FATAL: recovery ended before configured recovery target was reached" in e.message
    assert "pg_switch_wal()" in str(e.hint)
    other = exit_error("FATAL:  could not locate required checkpoint record\nLOG:  x\n", "/d", "t")
    assert isinstance(other, ServerExited) and other.exit_code == 52
    assert "could not locate required checkpoint record" in other.message
    probe_only = "FATAL:  the database system is starting up\nLOG:  shutdown at recovery target\n"
    assert clean_shutdown(probe_only) and not clean_shutdown(UNREACHED_LOG)
