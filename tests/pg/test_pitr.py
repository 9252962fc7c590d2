"""Point-in-time recovery is exact: for random targets during a write workload, the restored
cluster holds exactly the rows whose transactions committed at or before the target, judged
by PostgreSQL's own commit timestamps (track_commit_timestamp)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.errors import WalGap
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


class Env:
    def __init__(self, make_cluster: Callable[..., Cluster], setup: dict, base: Path) -> None:
        self.setup, self.base = setup, base
        self.src = make_cluster(
            settings={
                "archive_mode": "on",
                "archive_command": archive_command(setup["cfg"]),
                "archive_timeout": 0,
                "track_commit_timestamp": "on",
            }
        )
        self.src.sql("CREATE TABLE log (id int PRIMARY KEY, note text)")
        take_backup(self.repo(), self.src.conninfo())

    def repo(self) -> Repository:
        return Repository.open(open_backend(str(self.setup["url"])), KeyFile(self.setup["key"]))

    def workload(self, n: int, start: int = 1, pause: float = 0.004) -> dict[int, tuple]:
        """n single-row transactions; returns id -> (xid, commit timestamp, lsn after commit)."""
        out = {}
        with self.src.connect() as conn:
            for i in range(start, start + n):
                (xid,) = conn.execute(
                    "INSERT INTO log VALUES (%s, 'x') RETURNING xmin::text::bigint", (i,)
                ).fetchone()
                (lsn,) = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
                out[i] = (xid, None, lsn)
                time.sleep(pause)
            ts = dict(conn.execute("SELECT id, pg_xact_commit_timestamp(xmin) FROM log").fetchall())
        return {i: (x, ts[i], lsn) for i, (x, _t, lsn) in out.items()}

    def finish(self) -> None:
        wait_archived(self.src, str(self.src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    def restored_ids(self, target: Target, **kw: object) -> set[int]:
        dest = self.base / f"pitr-{time.monotonic_ns()}"
        port = free_port()
        # A copy made to read rows must not archive its new timeline into the repository (as
        # `pgdr restore` by default): under load it had time to, and a later "latest" restore
        # then followed that side branch (CI: no WalGap for a hole the branch bridged).
        kw.setdefault("archive", False)
        restore(
            self.repo(),
            dest,
            target=target,
            start_port=port,
            restore_command=default_restore_command(self.setup["cfg"], None),
            **kw,
        )  # type: ignore[arg-type]
        c = Cluster.attach(dest, port=port)
        c.owned.append(dest)
        try:
            return {r[0] for r in c.sql("SELECT id FROM log")}
        finally:
            c.destroy()


def test_twenty_random_time_targets_are_exact(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    env = Env(make_cluster, archive_setup, pg_base_dir)
    log = env.workload(400)
    env.finish()
    stamps = sorted(t for _x, t, _l in log.values())
    rng = random.Random(42)
    span = (stamps[-1] - stamps[0]).total_seconds()
    for _ in range(20):
        target = stamps[0] + timedelta(seconds=rng.uniform(0, span + 0.05))
        expected = {i for i, (_x, t, _l) in log.items() if t <= target}
        got = env.restored_ids(Target("time", target.isoformat()))
        assert got == expected, (target, len(got), len(expected))


def test_lsn_xid_name_immediate_targets(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    env = Env(make_cluster, archive_setup, pg_base_dir)
    log = env.workload(60, pause=0)
    env.src.sql("SELECT pg_create_restore_point('after-60')")
    log.update(env.workload(40, start=61, pause=0))
    env.finish()
    assert env.restored_ids(Target("lsn", log[25][2])) == set(range(1, 26))
    assert env.restored_ids(Target("xid", str(log[33][0]))) == set(range(1, 34))
    assert env.restored_ids(Target("name", "after-60")) == set(range(1, 61))
    assert env.restored_ids(Target("immediate")) == set()
    assert env.restored_ids(Target("latest")) == set(range(1, 101))


def test_second_pitr_follows_the_timeline_the_first_created(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    env = Env(make_cluster, archive_setup, pg_base_dir)
    log = env.workload(50, pause=0)
    env.finish()
    # First PITR: back to row 30; the promoted server starts timeline 2 and keeps archiving
    # into the same repository (its archive_command came with the backup).
    dest = pg_base_dir / "first-pitr"
    port = free_port()
    restore(
        env.repo(),
        dest,
        target=Target("lsn", log[30][2]),
        start_port=port,
        restore_command=default_restore_command(archive_setup["cfg"], None),
        archive=True,
    )
    first = Cluster.attach(dest, port=port)
    first.owned.append(dest)
    try:
        assert first.sql("SELECT count(*) FROM log")[0][0] == 30
        assert first.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0][0] >= 1
        first.sql("INSERT INTO log SELECT g, 'timeline 2' FROM generate_series(1001, 1010) g")
        (lsn,) = first.sql("SELECT pg_current_wal_insert_lsn()::text")[0]
        first.sql("INSERT INTO log SELECT g, 'later' FROM generate_series(2001, 2005) g")
        (switched,) = first.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
        first.sql("INSERT INTO log SELECT g, 'later still' FROM generate_series(3001, 3005) g")
        wait_archived(first, str(first.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
        (tli,) = first.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0]
    finally:
        first.destroy()
    assert tli == 2
    # Second PITR from the original backup (timeline 1) to a point on timeline 2.
    got = env.restored_ids(Target("lsn", lsn), timeline="2")
    assert got == set(range(1, 31)) | set(range(1001, 1011))
    # A hole on timeline 2 (a later segment of it is archived) is refused up front, named.
    env.repo().backend.delete(f"wal/00000002/{switched}")
    with pytest.raises(WalGap, match=str(switched)):
        restore(
            env.repo(),
            pg_base_dir / "across-the-hole",
            target=Target("latest"),
            restore_command=default_restore_command(archive_setup["cfg"], None),
            archive=True,
        )
    assert not (pg_base_dir / "across-the-hole").exists()
