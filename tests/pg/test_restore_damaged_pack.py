"""A pack damaged in the middle of a large relation file: `pgdr restore` fails with
IntegrityError (exit 34) naming the pack, in one line, while the parallel writers are busy
with that file and others — and leaves no partial data directory behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archiving_cluster

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def test_damaged_pack_mid_file_is_exit_34_and_no_partial_target(
    make_cluster: Callable[..., Cluster], archive_setup: dict, tmp_path: Path
) -> None:
    cfg: Path = archive_setup["cfg"]
    src = archiving_cluster(make_cluster, cfg)
    src.sql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g")
    conn = ["--pg-host", str(src.socket_dir), "--pg-port", str(src.port)]
    r = pgdr("--config", cfg, "backup", *conn)
    assert r.returncode == 0, r.stderr
    packs = [p for p in (Path(archive_setup["root"]) / "repo" / "data").rglob("*") if p.is_file()]
    pack = max(packs, key=lambda p: p.stat().st_size)  # the table's chunks
    raw = bytearray(pack.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    pack.write_bytes(bytes(raw))
    dest = tmp_path / "restored"
    r = pgdr("--config", cfg, "restore", "--data-dir", dest)
    assert r.returncode == 34, r.stdout + r.stderr
    assert pack.name in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not dest.exists()
