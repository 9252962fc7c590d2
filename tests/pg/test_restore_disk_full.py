"""A restore that fills its file system (a 20 MiB tmpfs): StorageFull (exit 25) naming the
target in one line, never an internal error, and the space given back — a target pgdr
created is removed, an empty one it was given is emptied again."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archiving_cluster

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


@pytest.fixture
def small_fs(pg_base_dir: Path) -> Iterator[Path]:
    mnt = pg_base_dir / "small-fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)], check=False)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_disk_full_during_restore_is_storage_full_and_cleans_up(
    make_cluster: Callable[..., Cluster], archive_setup: dict, small_fs: Path
) -> None:
    cfg: Path = archive_setup["cfg"]
    src = archiving_cluster(make_cluster, cfg)
    src.sql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g")
    conn = ["--pg-host", str(src.socket_dir), "--pg-port", str(src.port)]
    r = pgdr("--config", cfg, "backup", *conn)
    assert r.returncode == 0, r.stderr
    empty_free = shutil.disk_usage(small_fs).free

    for dest, fate in ((small_fs / "new", "removed"), (small_fs, "emptied")):
        r = pgdr("--config", cfg, "restore", "--data-dir", dest)
        assert r.returncode == 25, r.stdout + r.stderr
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert lines[0].startswith(f"pgdr: error: {dest}: no space left"), r.stderr
        assert fate in lines[0] and "Traceback" not in r.stderr and len(lines) <= 2
        assert not any(small_fs.iterdir())
        assert shutil.disk_usage(small_fs).free == empty_free
