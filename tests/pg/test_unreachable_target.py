"""Restore targets the archived WAL cannot reach end at once with exit 51 (issue 12): a
target outside the recoverable window is refused while planning, before anything is copied;
one the planner cannot rule out (seconds after the last archived segment, while the newer WAL
is still only in production's pg_wal) makes PostgreSQL stop with "recovery ended before
configured recovery target was reached", which `restore --start` reports within seconds with
PostgreSQL's reason and the next step."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.fixtures.pgconfig import add_postgres
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archiving_cluster, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def test_targets_past_the_archived_wal_fail_fast_naming_the_reason(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    cfg: Path = archive_setup["cfg"]
    src = archiving_cluster(make_cluster, cfg)
    add_postgres(cfg, src)
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    r = pgdr("--config", cfg, "backup")
    assert r.returncode == 0, r.stderr
    src.sql("INSERT INTO t VALUES (1001)")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    # 1. An hour in the future: refused while planning, nothing copied.
    dest = pg_base_dir / f"unreachable-{time.monotonic_ns()}"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    t = time.monotonic()
    r = pgdr("--config", cfg, "restore", "--data-dir", dest, "--time", future)
    assert r.returncode == 51, r.stderr
    assert "in the future" in r.stderr and "recoverable window on timeline 1" in r.stderr
    assert not dest.exists() and time.monotonic() - t < 20

    # 2. Seconds after the last archived segment, with newer commits only in pg_wal: the
    # planner cannot rule it out; PostgreSQL stops within seconds and restore says why.
    time.sleep(1.5)
    src.sql("INSERT INTO t VALUES (1002)")  # in the current segment, not archived
    time.sleep(1.5)
    target = datetime.now(UTC).isoformat()
    port = free_port()
    t = time.monotonic()
    r = pgdr(
        "--config",
        cfg,
        "restore",
        "--data-dir",
        dest,
        "--time",
        target,
        "--start",
        "--port",
        str(port),
    )
    took = time.monotonic() - t
    restored = Cluster.attach(dest, port=port) if (dest / "PG_VERSION").exists() else None
    try:
        assert r.returncode == 51, r.stderr
        assert "recovery ended before configured recovery target was reached" in r.stderr
        assert "pg_switch_wal()" in r.stderr
        assert took < 60, f"restore waited {took:.0f} s for a server that had stopped"
    finally:
        if restored is not None:
            restored.owned.append(dest)
            restored.destroy()


def test_start_with_target_action_shutdown_reports_the_clean_stop(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    from pgdr.backup.run import take_backup
    from pgdr.restore.commands import default_restore_command
    from pgdr.restore.plan import Target
    from pgdr.restore.run import restore
    from tests.pg.drilling import open_repo

    src = archiving_cluster(make_cluster, archive_setup["cfg"])
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    take_backup(open_repo(archive_setup), src.conninfo())
    src.sql("INSERT INTO t VALUES (1001)")
    (lsn,) = src.sql("SELECT pg_current_wal_insert_lsn()::text")[0]
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    dest = pg_base_dir / f"shutdown-{time.monotonic_ns()}"
    result = restore(
        open_repo(archive_setup),
        dest,
        target=Target("lsn", str(lsn)),
        action="shutdown",
        restore_command=default_restore_command(archive_setup["cfg"], None),
        start_port=free_port(),
        start_timeout=60,
        archive=True,
    )
    try:
        assert result.shut_down_at_target and result.port is None
        assert not (dest / "postmaster.pid").exists()
    finally:
        import shutil

        shutil.rmtree(dest, ignore_errors=True)
