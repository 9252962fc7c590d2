"""One repository, one cluster: a second cluster's WAL push, backup and check are refused
with ClusterMismatch (exit 55) naming both system identifiers; the first cluster goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archiving_cluster, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def switch(c: Cluster) -> str:
    c.sql("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t SELECT generate_series(1, 100)")
    (name,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    return str(name)


def sysid(c: Cluster) -> str:
    return str(c.sql("SELECT system_identifier::text FROM pg_control_system()")[0][0])


def test_a_second_cluster_is_refused_by_wal_push_backup_and_check(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    cfg: Path = archive_setup["cfg"]
    first = archiving_cluster(make_cluster, cfg)
    wait_archived(first, switch(first))  # the first push records the cluster
    second = make_cluster()
    seg = switch(second)
    conn = ["--pg-host", str(second.socket_dir), "--pg-port", str(second.port)]

    r = pgdr("--config", cfg, "wal-push", second.data_dir / "pg_wal" / seg)
    assert r.returncode == 55, r.stderr
    assert sysid(second) in r.stderr and sysid(first) in r.stderr
    assert "new repository" in r.stderr
    r = pgdr("--config", cfg, "backup", *conn)
    assert r.returncode == 55 and sysid(first) in r.stderr, r.stderr
    r = pgdr("--config", cfg, "check", *conn)
    assert r.returncode == 55 and sysid(second) in r.stderr, r.stdout + r.stderr
    # the repository's own cluster is unaffected
    wait_archived(first, switch(first))
    first_conn = ["--pg-host", str(first.socket_dir), "--pg-port", str(first.port)]
    r = pgdr("--config", cfg, "--json", "check", *first_conn)
    assert r.returncode == 0, r.stdout + r.stderr
