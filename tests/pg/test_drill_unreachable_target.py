"""A drill to a time the archived WAL cannot reach (seconds after the last archived segment,
newer WAL still only in production's pg_wal): the sandbox server stops within seconds and the
drill records PostgreSQL's reason and the next step at once (issue 12)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.drill.settings import DrillSettings
from pgdr.pg.cluster import Cluster
from tests.pg.drilling import archiving_settings, drill, open_repo, switch_and_wait

pytestmark = pytest.mark.pg


def test_drill_to_a_target_past_the_archived_wal_fails_at_once(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any]
) -> None:
    src = make_cluster(settings=archiving_settings(archive_setup))
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    take_backup(open_repo(archive_setup), src.conninfo())
    switch_and_wait(src)
    time.sleep(1.5)
    src.sql("INSERT INTO t VALUES (1001)")  # only in production's pg_wal
    time.sleep(1.5)
    root = Path(archive_setup["root"])
    st = DrillSettings(state_dir=root / "state", sandbox_dir=root / "sandboxes")
    t = time.monotonic()
    rec = drill(archive_setup, st, target=datetime.now(UTC).isoformat())
    assert rec.result == "failed" and rec.error is not None, rec.message
    assert rec.error["exit_code"] == 51 and rec.error["kind"] == "target-unreachable"
    assert "recovery ended before configured recovery target was reached" in rec.message
    assert "pg_switch_wal()" in rec.message
    assert time.monotonic() - t < 60
    assert not list((root / "sandboxes").glob("pgdr-drill-*"))


def test_random_point_after_the_last_commit_promotes_at_the_archives_end(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any]
) -> None:
    """A drill's random point lies between the backup's end and the time production's newest
    WAL was stored. On a quiet cluster no transaction commits after it, so PostgreSQL replays
    every archived record without meeting the target and stops (exit 51 before): the drill
    now promotes at the archive's end, which is the state at that point, and says so."""
    from tests.pg.archiving import wait_archived

    src = make_cluster(settings={**archiving_settings(archive_setup), "autovacuum": "off"})
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    take_backup(open_repo(archive_setup), src.conninfo())
    time.sleep(1.5)
    src.sql("CHECKPOINT")  # WAL, no commit: the newest segment is stored after every commit
    (name,) = src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(src, str(name), 60)
    root = Path(archive_setup["root"])
    st = DrillSettings(state_dir=root / "state", sandbox_dir=root / "sandboxes")
    rec = drill(archive_setup, st, target="random", seed=1)
    assert rec.result == "passed", rec.message
    assert rec.target["kind"] == "time"
    assert rec.target["reached"] == "archive end (no commit after the random point)"
    names = [s.name for s in rec.steps]  # two starts; the first stops in either step
    assert names.count("instance creation") == 2 and names.count("wal replay") in (1, 2)
    assert not list((root / "sandboxes").glob("pgdr-drill-*"))
