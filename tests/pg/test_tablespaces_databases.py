"""Tablespaces (remapped on restore) and several databases survive backup and restore."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.settings import DrillSettings
from pgdr.errors import UsageError
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, resolve_runas
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from pgdr.storage import open_backend
from tests.pg.archiving import archive_command, wait_archived

pytestmark = pytest.mark.pg


def test_tablespace_and_databases(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    src = make_cluster(
        settings={
            "archive_mode": "on",
            "archive_command": archive_command(archive_setup["cfg"]),
            "archive_timeout": 0,
        }
    )
    space = pg_base_dir / "ts-source"
    space.mkdir()
    chown_tree(space, resolve_runas())
    src.sql(f"CREATE TABLESPACE fast LOCATION '{space}'")
    src.sql("CREATE TABLE hot (id int) TABLESPACE fast")
    src.sql("INSERT INTO hot SELECT generate_series(1, 5000)")
    for db in ("app", "analytics"):
        src.sql(f"CREATE DATABASE {db}")
        src.sql("CREATE TABLE t AS SELECT generate_series(1, 100) AS x", dbname=db)
    src.sql("CREATE TABLE in_space AS SELECT generate_series(1, 42) AS x", dbname="analytics")
    src.sql("ALTER TABLE in_space SET TABLESPACE fast", dbname="analytics")
    repo = Repository.open(open_backend(str(archive_setup["url"])), KeyFile(archive_setup["key"]))
    take_backup(repo, src.conninfo())
    src.sql("INSERT INTO hot SELECT generate_series(5001, 6000)")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    cmd = default_restore_command(archive_setup["cfg"], None)
    with pytest.raises(UsageError, match="--tablespace-map"):  # the source's directory is in use
        restore(
            repo,
            pg_base_dir / "ts-refused",
            target=Target("latest"),
            restore_command=cmd,
            archive=True,
        )
    assert not (pg_base_dir / "ts-refused").exists()

    dest, new_space, port = pg_base_dir / "ts-restored", pg_base_dir / "ts-new", free_port()
    restore(
        repo,
        dest,
        target=Target("latest"),
        restore_command=cmd,
        start_port=port,
        tablespace_map={str(space): str(new_space)},
        archive=True,
    )
    c = Cluster.attach(dest, port=port)
    c.owned += [dest, new_space]
    try:
        assert c.sql("SELECT count(*) FROM hot")[0][0] == 6000
        assert c.sql(
            "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'fast'"
        )[0][0] == str(new_space)
        assert c.sql("SELECT sum(x) FROM t", dbname="app")[0][0] == 5050
        assert c.sql("SELECT count(*) FROM in_space", dbname="analytics")[0][0] == 42
    finally:
        c.destroy()

    # A drill keeps the tablespace inside its sandbox: the source's directory (in use, on
    # this host) is neither refused nor written, and nothing is left outside the sandbox.
    before = sorted(p.name for p in space.rglob("*"))
    sandboxes = pg_base_dir / "ts-sandboxes"
    settings = DrillSettings(state_dir=pg_base_dir / "ts-drill-state", sandbox_dir=sandboxes)
    rec = run_drill(repo, settings, DrillRequest(), DrillEnv())
    assert rec.result == "passed", rec.error or [s for s in rec.steps]
    assert sorted(p.name for p in space.rglob("*")) == before
    assert not sandboxes.exists() or not any(sandboxes.iterdir())
