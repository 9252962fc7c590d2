"""Garbage collection while backups and WAL pushes run, repeated: expire with a one-second
window (so every run removes backups and WAL) and aggressive repacking, against a cluster
that keeps writing and switching WAL segments (archive_command = pgdr wal-push) while
backups are taken one after another. Afterwards nothing referenced is missing:
`repo verify --read-data` passes and a restore of the latest state has every row."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, resolve_runas
from pgdr.repo.gc import GcOptions
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.restore.plan import Target
from pgdr.retention.expire import expire
from pgdr.retention.policy import Policy
from pgdr.storage import open_backend
from tests.fixtures.restore import open_repo, restored, source
from tests.pg.archiving import wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def small_packs(setup: dict) -> None:
    """Re-create the fixture's repository with 1 MiB packs (same key and location)."""
    repo_dir = Path(setup["root"]) / "repo"
    shutil.rmtree(repo_dir)
    Repository.init(open_backend(str(setup["url"])), KeyFile(setup["key"]), pack_size=1 << 20)
    chown_tree(Path(setup["root"]), resolve_runas())


def test_gc_with_concurrent_backups_and_wal_pushes_never_loses_data(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    small_packs(archive_setup)  # many packs: garbage and repacking spread over them
    src = source(make_cluster, archive_setup)
    src.sql("CREATE TABLE t (id serial PRIMARY KEY, v int, pad text)")
    src.sql(
        "INSERT INTO t (v, pad) SELECT g, repeat(md5(random()::text), 4) "
        "FROM generate_series(1, 50000) g"
    )
    take_backup(open_repo(archive_setup), src.conninfo(), backup_type="full")
    stop = threading.Event()
    errors: list[BaseException] = []
    backups: list[str] = []

    def writes() -> None:  # WAL pushes all along
        try:
            with src.connect() as conn:
                while not stop.is_set():
                    conn.execute(
                        "INSERT INTO t (v, pad) SELECT g, 'w' FROM generate_series(1, 300) g"
                    )
                    conn.execute("UPDATE t SET v = v + 1 WHERE id % 53 = 0")
                    conn.execute("SELECT pg_switch_wal()")
                    time.sleep(0.8)  # archive_command keeps up (one process per segment)
        except BaseException as e:
            errors.append(e)

    gc_worked = threading.Event()

    def take_backups() -> None:
        # at least 3 backups, and more (up to 8) until GC and expire had real work beside
        # them: on a loaded machine three backups can end before a GC run finds garbage
        try:
            while len(backups) < 3 or (not gc_worked.is_set() and len(backups) < 8):
                b = take_backup(open_repo(archive_setup), src.conninfo(), backup_type="incr")
                backups.append(b.backup_id)
        except BaseException as e:
            errors.append(e)

    writer = threading.Thread(target=writes)
    backer = threading.Thread(target=take_backups)
    writer.start()
    backer.start()
    runs = deleted = removed = during = 0
    gc = GcOptions(repack_threshold=0.05, wait=120, poll=0.1)
    try:
        while backer.is_alive():
            busy = backer.is_alive()
            r = expire(open_repo(archive_setup), Policy(timedelta(seconds=1)), gc=gc)
            assert r.gc is not None and r.gc.complete, r.gc
            runs += 1
            during += busy
            deleted += r.gc.packs_deleted
            removed += len(r.removed_backups) + r.wal_removed_files
            if deleted > 0 and removed > 0 and busy:
                gc_worked.set()
            time.sleep(0.2)
    finally:
        stop.set()
        writer.join()
        backer.join()
    assert not errors, errors
    assert 3 <= len(backups) <= 8 and runs >= 2 and during >= 2
    assert deleted > 0 and removed > 0, "GC and expire had real work while backups ran"

    src.sql("INSERT INTO t (v, pad) VALUES (-1, 'last')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    final = expire(open_repo(archive_setup), Policy(timedelta(seconds=1)), gc=gc)
    assert final.gc is not None and final.gc.complete
    report = verify(open_repo(archive_setup), read_data=True)
    assert report.ok, report.problems
    want = src.sql("SELECT count(*), sum(v) FROM t")[0]
    latest = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"))
    try:
        assert latest.sql("SELECT count(*), sum(v) FROM t")[0] == want
    finally:
        latest.destroy()
