"""Starting a restored server and watching it until it reached the target: promoted,
paused, or shut down there; the moment the postmaster exits, fail with its FATAL line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from pgdr.errors import PostgresError
from pgdr.pg.cluster import Cluster
from pgdr.pg.recovery_watch import clean_shutdown, exit_error, wait_for_target
from pgdr.restore.commands import PREFETCH_DIR
from pgdr.restore.plan import Target
from pgdr.restore.result import RestoreResult


def start_restored(
    data_dir: Path,
    port: int,
    target: Target,
    action: str,
    timeout: float,
    result: RestoreResult,
) -> None:
    """Start the restored server and wait until it is promoted (or paused / shut down at the
    target), watching it: the moment the postmaster exits, fail with its FATAL line."""
    t = time.monotonic()
    cluster = Cluster.attach(data_dir, port=port)
    mark = cluster.log_size()
    may_shut_down = action == "shutdown" and target.kind != "latest"
    state: str | None = None
    try:
        cluster.start(timeout=timeout)  # with the allow-listed environment: no key from us
    except PostgresError:
        if cluster.is_running():
            raise
        log = cluster.log_since(mark)
        if not (may_shut_down and clean_shutdown(log)):
            raise exit_error(log, str(data_dir), target.describe()) from None
        state = "shut down"  # reached the target before pg_ctl saw it accept connections
    result.phases["startup"] = time.monotonic() - t
    t = time.monotonic()
    state = state or wait_for_target(
        cluster,
        target=target.describe(),
        promoted=target.kind == "latest" or action == "promote",
        timeout=timeout,
        log_from=mark,
        may_shut_down=may_shut_down,
    )
    result.phases["wal replay"] = time.monotonic() - t
    if state == "promoted":  # prefetched segments are of no further use
        shutil.rmtree(data_dir / PREFETCH_DIR, ignore_errors=True)
    if state == "shut down":
        result.shut_down_at_target = True
    else:
        result.port = port
        result.in_recovery = state == "paused"
