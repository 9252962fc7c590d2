"""Delta restore: an existing, diverged data directory is brought back to a backup's state
(then to a point in time) while rewriting only what differs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.errors import PostgresError, UsageError
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.fixtures.restore import open_repo, source, wait_promoted
from tests.pg.archiving import wait_archived

pytestmark = pytest.mark.pg


def test_delta_rewrites_only_what_differs(
    make_cluster: Callable[..., Cluster],
    pg_base_dir: Path,
    archive_setup: dict,
    request: pytest.FixtureRequest,
) -> None:
    src = source(make_cluster, archive_setup)
    src.sql(
        "CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 60000) g"
    )
    src.sql("VACUUM (FREEZE) bulk")  # hint bits set: later reads leave pages unchanged
    take_backup(open_repo(archive_setup), src.conninfo(), label="base")
    src.sql("INSERT INTO events (note) SELECT 'after ' || g FROM generate_series(1, 100) g")
    time.sleep(1.1)
    target = datetime.now(UTC)
    time.sleep(1.1)
    src.sql("DELETE FROM events WHERE id > 50")  # the accident
    (name,) = src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(src, str(name))

    # The "production" directory: restored to latest (the accident included), then it
    # diverged further — rows changed, a table dropped, stray files.
    dest = pg_base_dir / f"delta-{time.monotonic_ns()}"
    command = default_restore_command(archive_setup["cfg"], None)
    restore(open_repo(archive_setup), dest, target=Target("latest"), restore_command=command)
    live = Cluster.attach(dest, port=free_port())
    request.addfinalizer(lambda: live.destroy())
    live.start()
    wait_promoted(live)
    live.sql("UPDATE bulk SET pad = 'x' WHERE id % 1000 = 0")
    live.sql("DROP TABLE scratch")
    live.sql("CHECKPOINT")

    with pytest.raises(PostgresError, match="running"):  # never under a live server
        restore(
            open_repo(archive_setup),
            dest,
            target=Target("time", target.isoformat()),
            restore_command=command,
            delta=True,
            archive=True,
        )
    live.stop()
    (dest / "base" / "stray-file").write_bytes(b"junk")

    result = restore(
        open_repo(archive_setup),
        dest,
        target=Target("time", target.isoformat()),
        restore_command=command,
        delta=True,
        archive=True,
    )
    d = result.delta
    assert d is not None
    assert d.files > 100 and d.removed >= 1
    assert not (dest / "base" / "stray-file").exists()
    # Only the chunks that diverged came from the repository.
    assert 0 < d.bytes_written < d.bytes / 4, d
    assert d.files_changed < d.files / 2, d
    live = Cluster.attach(dest, port=free_port())  # the delta put back the backup's settings
    live.start()
    wait_promoted(live)
    assert live.sql("SELECT count(*) FROM events")[0][0] == 600
    assert live.sql("SELECT count(*) FROM bulk WHERE pad = 'x'")[0][0] == 0
    assert live.sql("SELECT count(*) FROM scratch")[0][0] == 0  # back (unlogged: empty)
    live.sql("CREATE EXTENSION IF NOT EXISTS amcheck")
    live.run_tool("pg_amcheck", "--heapallindexed", "-d", "postgres")


def test_delta_refuses_a_directory_that_is_not_pgdata(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo())
    dest = pg_base_dir / f"not-pgdata-{time.monotonic_ns()}"
    dest.mkdir()
    (dest / "precious.txt").write_text("do not delete")
    with pytest.raises(UsageError, match="does not look like a PostgreSQL data directory"):
        restore(
            open_repo(archive_setup),
            dest,
            target=Target("latest"),
            restore_command="true",
            delta=True,
            archive=True,
        )
    assert (dest / "precious.txt").read_text() == "do not delete"
