"""Relation files are cut into 128 KiB chunks (docs/design.md §8c); backups cut into 32 KiB
chunks, as pgdr wrote them before, stay in the same repository and keep restoring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.chunking import Chunking
from pgdr.backup.run import take_backup
from pgdr.catalog.manifest import KIND
from pgdr.pg.cluster import Cluster
from pgdr.restore.plan import Target
from tests.fixtures.restore import open_repo, restored, source
from tests.pg.archiving import wait_archived

pytestmark = pytest.mark.pg
KiB = 1024


def _chunks(setup: dict, backup_id: str) -> set[int]:
    files = open_repo(setup).get_manifest(KIND, backup_id).doc["files"]
    return {f["chunk"] for f in files if f["kind"] == "file" and f["path"].startswith("base/")}


def test_old_32k_backup_and_new_128k_backup_both_restore(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    src = source(make_cluster, archive_setup)
    src.sql(
        "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS pad FROM generate_series(1, 20000) g"
    )
    old = take_backup(open_repo(archive_setup), src.conninfo(), chunking=Chunking(32 * KiB))
    src.sql("INSERT INTO events (note) SELECT 'between ' || g FROM generate_series(1, 100) g")
    new = take_backup(open_repo(archive_setup), src.conninfo())
    assert _chunks(archive_setup, old.backup_id) == {32 * KiB}
    assert _chunks(archive_setup, new.backup_id) == {128 * KiB}
    src.sql("INSERT INTO events (note) VALUES ('late')")
    (name,) = src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(src, str(name))
    want = src.sql("SELECT count(*), sum(length(pad)) FROM bulk")[0]
    for backup in (old.backup_id, new.backup_id):
        r = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"), backup=backup)
        try:
            assert r.sql("SELECT count(*) FROM events")[0][0] == 601
            assert r.sql("SELECT count(*), sum(length(pad)) FROM bulk")[0] == want
            r.sql("CREATE EXTENSION IF NOT EXISTS amcheck")
            r.run_tool("pg_amcheck", "--heapallindexed", "-d", "postgres")
        finally:
            r.destroy()
