"""Asynchronous archiving and prefetching with a real PostgreSQL."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.catalog.wal import list_wal
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, resolve_runas
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.pg.archiving import wait_archived

pytestmark = pytest.mark.pg


def async_command(cfg: Path, spool: Path) -> str:
    parts = [
        sys.executable,
        "-m",
        "pgdr",
        "--config",
        str(cfg),
        "wal-push",
        "--async",
        "--spool",
        str(spool),
    ]
    return " ".join(shlex.quote(p) for p in parts) + " %p"


def switches(c: Cluster, n: int) -> list[str]:
    names = []
    for _ in range(n):
        c.sql("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t SELECT generate_series(1, 100)")
        names.append(str(c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    return names


def test_async_archiving_ships_everything(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    spool = pg_base_dir / "spool"
    spool.mkdir()
    chown_tree(spool, resolve_runas())
    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": async_command(archive_setup["cfg"], spool),
            "archive_timeout": 0,
        }
    )
    names = switches(c, 12)
    wait_archived(c, names[-1], timeout=60)
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    deadline = time.monotonic() + 30
    while not set(names) <= set(list_wal(repo).get(1, [])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(names) <= set(list_wal(repo)[1])
    assert all((spool / "acked" / n).exists() for n in names)
    assert not [p for p in (spool / "queue").iterdir() if not p.name.startswith(".")]
    assert not (spool / "error").exists()


def test_async_unreachable_repository_never_drops_wal(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    spool = pg_base_dir / "spool-bad"
    spool.mkdir()
    chown_tree(spool, resolve_runas())
    cfg: Path = archive_setup["cfg"]
    good = cfg.read_text()
    cfg.write_text(Path(archive_setup["bad"]).read_text())
    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": async_command(cfg, spool),
            "archive_timeout": 0,
        }
    )
    names = switches(c, 2)  # spooled durably and acknowledged before any failure is known
    deadline = time.monotonic() + 60
    while not (spool / "error").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "cannot reach" in (spool / "error").read_text()
    names += switches(c, 2)  # now archive_command fails: PostgreSQL keeps these in pg_wal
    while time.monotonic() < deadline:
        (failed,) = c.sql("SELECT failed_count FROM pg_stat_archiver")[0]
        if failed >= 1:
            break
        time.sleep(0.3)
    assert failed >= 1, c.log_tail(10)
    assert (c.data_dir / "pg_wal" / "archive_status" / f"{names[-1]}.ready").exists()
    for n in names:  # every segment is in pg_wal (not yet archived) or durably spooled
        assert (c.data_dir / "pg_wal" / n).exists() or (spool / "queue" / n).exists()
    cfg.write_text(good)  # the repository is back
    more = switches(c, 1)
    wait_archived(c, more[-1], timeout=120)
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    # Acknowledged means spooled: the uploader ships the backlog after its retry pause.
    deadline = time.monotonic() + 120
    while not set(names + more) <= set(list_wal(repo)[1]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert set(names + more) <= set(list_wal(repo)[1])


def test_prefetch_serves_the_next_segments(
    archive_setup: dict, pg_base_dir: Path, make_cluster: Callable[..., Cluster]
) -> None:
    from tests.pg.archiving import archive_command

    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(archive_setup["cfg"]),
            "archive_timeout": 0,
        }
    )
    names = switches(c, 5)
    wait_archived(c, names[-1])
    spool = pg_base_dir / "prefetch-spool"
    base = [sys.executable, "-m", "pgdr", "--config", str(archive_setup["cfg"])]
    out = pg_base_dir / "fetched"
    r = subprocess.run(
        [*base, "wal-fetch", "--prefetch", "3", "--spool", str(spool), names[0], str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 20
    while len(list((spool / "prefetch").glob("0*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(p.name for p in (spool / "prefetch").glob("0*")) == names[1:4]
    for n in names[1:4]:
        r = subprocess.run(
            [*base, "wal-fetch", "--prefetch", "3", "--spool", str(spool), n, str(out)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0 and out.read_bytes() == (c.data_dir / "pg_wal" / n).read_bytes()
    assert not (spool / "prefetch" / names[1]).exists()
