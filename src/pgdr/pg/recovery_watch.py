"""Watching a server that replays WAL until it reaches its recovery target.

PostgreSQL stops on its own when it cannot go on — most often with ``FATAL: recovery ended
before configured recovery target was reached`` (the target lies past the end of the archived
WAL) within seconds of starting. Whoever waits for a restored server therefore checks, on
every poll, that its postmaster still lives, and the moment it is gone fails with the FATAL
line from the server log and the next step, instead of waiting out a timeout.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from pgdr.errors import PostgresError, RecoveryTargetUnreachable, ServerExited
from pgdr.pg.binaries import error_line

if TYPE_CHECKING:
    from pgdr.pg.cluster import Cluster

UNREACHED = "recovery ended before configured recovery target was reached"
NEXT_STEP = (
    "the target lies past the end of the archived WAL: run SELECT pg_switch_wal() on "
    "production so its current WAL segment is archived, then restore again; or choose a "
    "target inside the recoverable window that `pgdr info` prints"
)
State = Literal["promoted", "paused", "shut down"]


#: FATALs our own probes cause while the server cannot take connections yet (or any more):
#: never the reason it stopped.
PROBE_NOISE = (
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "consistent recovery state has not been yet reached",
)


def _reasons(log_text: str) -> str:
    return "\n".join(ln for ln in log_text.splitlines() if not any(n in ln for n in PROBE_NOISE))


def exit_error(log_text: str, where: str, target: str) -> PostgresError:
    """The error for a server that exited during recovery, from its log since the start."""
    line = error_line(_reasons(log_text))
    if UNREACHED in log_text:
        line = f"FATAL: {UNREACHED}"
        return RecoveryTargetUnreachable(
            f"PostgreSQL in {where} stopped before reaching {target}: {line}", hint=NEXT_STEP
        )
    return ServerExited(f"PostgreSQL in {where} exited during WAL replay: {line}")


def clean_shutdown(log_text: str) -> bool:
    """The server stopped without a FATAL or PANIC (recovery_target_action = shutdown)."""
    return not any(f"{s}:" in _reasons(log_text) for s in ("FATAL", "PANIC"))


def wait_for_target(
    cluster: Cluster,
    *,
    target: str,
    promoted: bool,
    timeout: float,
    log_from: int = 0,
    may_shut_down: bool = False,
    poll: float = 0.05,
) -> State:
    """Poll until the server is promoted (``promoted``) or paused at the target; raise at once
    when its postmaster exits (``may_shut_down``: a clean exit is the target action)."""
    deadline = time.monotonic() + timeout
    while True:
        if not cluster.is_running():
            log = cluster.log_since(log_from)
            if may_shut_down and clean_shutdown(log):
                return "shut down"
            raise exit_error(log, str(cluster.data_dir), target)
        try:
            (in_recovery,) = cluster.sql("SELECT pg_is_in_recovery()")[0]
        except PostgresError:
            in_recovery = None  # not accepting connections yet, or exiting: checked above
        if in_recovery is False:
            return "promoted"
        if in_recovery and not promoted and _paused(cluster):
            return "paused"
        if time.monotonic() > deadline:
            raise PostgresError(
                f"PostgreSQL in {cluster.data_dir} did not reach {target} within "
                f"{timeout:.0f} s (still replaying WAL); last log line: "
                f"{error_line(cluster.log_since(log_from))}",
                hint=f"server log: {cluster.log_file}",
            )
        time.sleep(poll)  # the probe is a cheap query; the wait is part of the RTO


def _paused(cluster: Cluster) -> bool:
    try:
        (state,) = cluster.sql("SELECT pg_get_wal_replay_pause_state()")[0]
    except PostgresError:
        return False
    return str(state) == "paused"
