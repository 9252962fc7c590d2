"""Page checksums: pgdr computes exactly what PostgreSQL stored, and a corrupted page in the
source is reported by the backup with its file and block."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from pgdr.backup.checksums import page_checksums, suspicious_pages
from pgdr.backup.run import take_backup
from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.restore.info import repository_info
from pgdr.storage import open_backend
from tests.pg.archiving import archive_command

pytestmark = pytest.mark.pg


def test_checksums_match_postgresql(pg_cluster: Cluster) -> None:
    pg_cluster.sql("CREATE TABLE t AS SELECT g, md5(g::text) AS v FROM generate_series(1, 50000) g")
    pg_cluster.sql("CREATE INDEX ON t (v)")
    pg_cluster.sql("CHECKPOINT")
    for rel in ("t", "t_v_idx"):
        (path,) = pg_cluster.sql("SELECT pg_relation_filepath(%s)", (rel,))[0]
        data = (pg_cluster.data_dir / path).read_bytes()
        n = len(data) // 8192
        stored = np.frombuffer(data, dtype="<u2").reshape(n, 4096)[:, 4]
        assert (page_checksums(data, 0) == stored).all()
        assert suspicious_pages(data, 0, 1 << 62) == []


def test_corrupted_page_is_reported_with_file_and_block(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    c = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(archive_setup["cfg"]),
            "archive_timeout": 0,
        }
    )
    c.sql("CREATE TABLE victim AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g")
    c.sql("CHECKPOINT")
    (path,) = c.sql("SELECT pg_relation_filepath('victim')")[0]
    c.stop()
    f = c.data_dir / path
    raw = bytearray(f.read_bytes())
    raw[7 * 8192 + 4000] ^= 0xFF  # one byte in the middle of block 7
    f.write_bytes(bytes(raw))
    c.start()
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    result = take_backup(repo, c.conninfo())
    assert result.page_checksum_errors == [{"file": path, "blocks": [7]}]
    info = repository_info(repo)
    assert info.backups[0]["page_checksum_errors"] == [{"file": path, "blocks": [7]}]
