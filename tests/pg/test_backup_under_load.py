"""A backup taken while pgbench writes at full speed restores to a cluster that PostgreSQL's
own tools accept: pg_amcheck --heapallindexed, pg_checksums --check, and a pg_dump identical
to the source's at the target."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from pgdr.storage import open_backend
from tests.pg.archiving import archive_command, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def dump(c: Cluster) -> str:
    out = c.run_tool("pg_dump", "--no-owner", "--inserts", "-d", "postgres").stdout
    # \restrict / \unrestrict carry a random key per run (PostgreSQL 15.14+): not data.
    skip = ("-- Dumped", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in out.splitlines() if not line.startswith(skip))


def test_backup_during_pgbench(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    src = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(archive_setup["cfg"]),
            "archive_timeout": 0,
            "max_wal_size": "1GB",
        }
    )
    src.run_tool("pgbench", "-i", "-q", "-s", "8", "postgres")
    bench = subprocess.Popen(
        [str(src.bindir / "pgbench"), "-c", "2", "-T", "12", "-n", "postgres"],
        env=src.psql_env(),
        user=src.runas.name if src.runas.switches else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(2)
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    result = take_backup(repo, src.conninfo())
    assert bench.poll() is None, "pgbench must still be running after the backup"
    assert bench.wait(60) == 0, bench.stderr.read() if bench.stderr else ""
    (tx,) = src.sql("SELECT count(*) FROM pgbench_history")[0]
    assert tx > 100
    source_dump = dump(src)
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    dest = pg_base_dir / "under-load"
    port = free_port()
    restore(
        repo,
        dest,
        target=Target("latest"),
        start_port=port,
        restore_command=default_restore_command(archive_setup["cfg"], None),
        archive=True,
    )
    r = Cluster.attach(dest, port=port)
    r.owned.append(dest)
    try:
        assert r.sql("SELECT count(*) FROM pgbench_history")[0][0] == tx
        assert dump(r) == source_dump
        r.sql("CREATE EXTENSION IF NOT EXISTS amcheck")
        r.run_tool("pg_amcheck", "--heapallindexed", "--all")
        r.stop("fast")
        r.run_tool("pg_checksums", "--check", "-D", str(dest))
    finally:
        r.destroy()
    assert result.stored_bytes > 0
