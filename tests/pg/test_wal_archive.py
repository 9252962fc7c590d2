"""WAL archiving through a real PostgreSQL: archive_command = pgdr wal-push, restore via
pgdr wal-fetch, duplicate and conflicting pushes, and an unreachable repository."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archive_command, wait_archived

pytestmark = pytest.mark.pg


def switch(c: Cluster) -> str:
    c.sql("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t SELECT generate_series(1, 1000)")
    (name,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    return str(name)


def test_archive_and_fetch_round_trip(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    cfg = archive_setup["cfg"]
    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(cfg),
            "archive_timeout": 0,
        }
    )
    names = [switch(c) for _ in range(3)]
    wait_archived(c, names[-1])
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    from pgdr.catalog.wal import list_wal

    archived = list_wal(repo)[1]
    assert set(names) <= set(archived)
    # fetch is byte-identical to what PostgreSQL wrote
    out = archive_setup["root"] / "fetched"
    r = pgdr("--config", cfg, "wal-fetch", names[-1], out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (c.data_dir / "pg_wal" / names[-1]).read_bytes()
    # pushing the same file again succeeds; a different file under that name is refused
    assert pgdr("--config", cfg, "wal-push", c.data_dir / "pg_wal" / names[-1]).returncode == 0
    forged = archive_setup["root"] / names[-1]
    real = (c.data_dir / "pg_wal" / names[-1]).read_bytes()
    forged.write_bytes(real[:4096] + os.urandom(len(real) - 4096))  # its header, other records
    r = pgdr("--config", cfg, "wal-push", forged)
    assert (
        r.returncode == 37 and "different content" in r.stderr and len(r.stderr.splitlines()) == 1
    )
    # a file that was never archived: exit 1 and no noise (PostgreSQL probes for these)
    r = pgdr("--config", cfg, "wal-fetch", "00000009.history", out)
    assert r.returncode == 1 and r.stderr == ""


def test_unreachable_repository_keeps_wal_in_pg_wal(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(archive_setup["bad"]),
            "archive_timeout": 0,
        }
    )
    name = switch(c)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (failed,) = c.sql("SELECT failed_count FROM pg_stat_archiver")[0]
        if failed >= 1:
            break
        time.sleep(0.2)
    assert failed >= 1
    assert (c.data_dir / "pg_wal" / "archive_status" / f"{name}.ready").exists()
    assert (c.data_dir / "pg_wal" / name).exists()
    # the repository comes back: PostgreSQL retries and the segment is archived
    c.configure({"archive_command": archive_command(archive_setup["cfg"])})
    c.reload()
    wait_archived(c, name)
    assert (c.data_dir / "pg_wal" / "archive_status" / f"{name}.done").exists()
