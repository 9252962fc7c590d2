"""Base backup and point-in-time restore on real clusters."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.errors import WalGap
from pgdr.pg.cluster import Cluster
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.fixtures.restore import open_repo, restored, source
from tests.pg.archiving import wait_archived

pytestmark = pytest.mark.pg


def test_backup_then_pitr_and_latest(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    src = source(make_cluster, archive_setup)
    result = take_backup(open_repo(archive_setup), src.conninfo(), label="first")
    assert result.files > 100 and result.stored_bytes > 0
    src.sql("INSERT INTO events (note) SELECT 'after backup ' || g FROM generate_series(1, 300) g")
    time.sleep(1.1)
    target = datetime.now(UTC)
    time.sleep(1.1)
    src.sql("DELETE FROM events WHERE id % 2 = 0")  # the accident
    src.sql("INSERT INTO events (note) VALUES ('late')")
    (name,) = src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(src, str(name))

    pitr = restored(make_cluster, pg_base_dir, archive_setup, Target("time", target.isoformat()))
    try:
        assert pitr.sql("SELECT count(*) FROM events")[0][0] == 800
        assert pitr.sql("SELECT count(*) FROM scratch")[0][0] == 0  # unlogged: empty after restore
    finally:
        pitr.destroy()
    latest = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"))
    try:
        assert (
            latest.sql("SELECT count(*) FROM events")[0][0]
            == src.sql("SELECT count(*) FROM events")[0][0]
        )
        assert latest.sql("SELECT note FROM events ORDER BY id DESC LIMIT 1")[0][0] == "late"
    finally:
        latest.destroy()


def test_wal_gap_is_refused_before_copying(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo())
    names = []
    for _ in range(3):
        src.sql("INSERT INTO events (note) VALUES ('x')")
        names.append(str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    wait_archived(src, names[-1])
    repo = open_repo(archive_setup)
    victim = f"wal/00000001/{names[1]}"
    repo.backend.delete(victim)
    dest = pg_base_dir / "gap-restore"
    with pytest.raises(WalGap, match=names[1]):
        restore(repo, dest, target=Target("latest"), restore_command="false", archive=True)
    assert not dest.exists()


def test_latest_ignores_a_timeline_that_branched_before_the_backup(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    """A test restore promoted and archived timeline 2 into the repository; production kept
    going on timeline 1 and took a new backup. PostgreSQL's own ``latest`` would pick
    timeline 2 and refuse to start (not a child of the backup's history): pgdr follows 1."""
    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo(), label="old")
    test_restore = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"))
    try:  # promoted on timeline 2; its history file reaches the repository
        assert test_restore.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0][0] == 2
        test_restore.sql("CHECKPOINT")
        deadline = time.monotonic() + 30
        while not any(
            n.endswith(".history") for n in list_wal_names(archive_setup) if n.startswith("0000")
        ):
            assert time.monotonic() < deadline, "timeline 2 history never archived"
            time.sleep(0.2)
    finally:
        test_restore.destroy()
    src.sql("INSERT INTO events (note) SELECT 'production ' || g FROM generate_series(1, 50) g")
    take_backup(open_repo(archive_setup), src.conninfo(), label="new")
    src.sql("INSERT INTO events (note) VALUES ('after the new backup')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    latest = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"))
    try:
        assert latest.sql("SELECT count(*) FROM events")[0][0] == 551
        assert latest.sql("SELECT note FROM events ORDER BY id DESC LIMIT 1")[0][0] == (
            "after the new backup"
        )
    finally:
        latest.destroy()


def list_wal_names(setup: dict) -> list[str]:
    from pgdr.catalog.wal import list_wal

    return [n for names in list_wal(open_repo(setup)).values() for n in names]


def test_restore_beside_production_does_not_archive_its_timeline(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    """A PITR restore made to recover rows while production keeps running: with archiving
    off, its timeline never reaches the repository, so later restores (and drills) keep
    following production's timeline."""
    from pgdr.catalog.wal import list_wal

    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo())
    src.sql("INSERT INTO events (note) VALUES ('after backup')")
    time.sleep(1.1)
    target = datetime.now(UTC)
    src.sql("INSERT INTO events (note) VALUES ('after target')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    side = restored(
        make_cluster, pg_base_dir, archive_setup, Target("time", target.isoformat()), archive=False
    )
    try:
        assert side.sql("SHOW archive_mode")[0][0] == "off"
        assert side.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0][0] == 2
        side.sql("INSERT INTO events (note) VALUES ('side')")
        side.sql("SELECT pg_switch_wal()")
        time.sleep(1)
    finally:
        side.destroy()
    assert set(list_wal(open_repo(archive_setup))) == {1}
    dest = pg_base_dir / "latest-after-side"
    result = restore(
        open_repo(archive_setup),
        dest,
        target=Target("latest"),
        restore_command=default_restore_command(archive_setup["cfg"], None),
        archive=True,
    )
    assert (result.timeline, result.backup_timeline, result.archive_mode) == ("1", "1", "preserve")
    assert "archive_mode = 'off'" not in (dest / "postgresql.auto.conf").read_text()
