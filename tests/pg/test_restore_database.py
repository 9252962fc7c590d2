"""``restore --database``: one database of three comes back, with WAL replayed over the
left-out databases' zeroed files, at about the cost of that database's share."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.errors import UsageError
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.fixtures.restore import open_repo
from tests.pg.archiving import archiving_cluster, wait_archived

pytestmark = pytest.mark.pg

ROW_HASH = "SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM {} t"


def _fill(c: Cluster, db: str, rows: int) -> None:
    c.sql(f"CREATE DATABASE {db}")
    c.sql(
        "CREATE TABLE items (id int PRIMARY KEY, note text); "
        f"INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, {rows}) g",
        dbname=db,
    )


def test_restore_one_database_of_three(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    src = archiving_cluster(make_cluster, archive_setup["cfg"])
    for db in ("sales", "hr", "ops"):
        _fill(src, db, 150_000)
    repo = open_repo(archive_setup)
    take_backup(repo, src.conninfo())
    # The oracle for "that database's share": PostgreSQL's own sizes at backup time — the
    # database asked for, the ones always kept, and the cluster-wide catalogs.
    sizes = dict(src.sql("SELECT datname, pg_database_size(oid) FROM pg_database"))
    (global_bytes,) = src.sql("SELECT pg_tablespace_size('pg_global')")[0]
    share = sum(v for k, v in sizes.items() if k not in ("sales", "ops")) + global_bytes
    whole = sum(sizes.values()) + global_bytes

    # After the backup, every database changes: replay writes into the left-out ones' files
    # (full-page images over zeros) as well as into the one restored.
    for db in ("sales", "hr", "ops"):
        src.sql("UPDATE items SET note = 'changed' WHERE id % 7 = 0", dbname=db)
        src.sql("CREATE TABLE later AS SELECT generate_series(1, 1000) AS id", dbname=db)
    src.sql("DELETE FROM items WHERE id > 140000", dbname="hr")
    expected = {t: src.sql(ROW_HASH.format(t), dbname="hr")[0][0] for t in ("items", "later")}
    src.sql("SELECT txid_current()")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]), 120)

    cmd = default_restore_command(archive_setup["cfg"], None)
    with pytest.raises(UsageError, match="no database 'nope'"):
        restore(repo, pg_base_dir / "db-refused", target=Target("latest"), restore_command=cmd,
                databases=["nope"], archive=True)  # fmt: skip
    assert not (pg_base_dir / "db-refused").exists()

    # The preview (here through `restore --dry-run`) says what will be fetched, writing nothing.
    dry = pg_base_dir / "db-dry-run"
    cli = subprocess.run(
        [sys.executable, "-m", "pgdr", "--config", str(archive_setup["cfg"]), "restore",
         "--data-dir", str(dry), "--database", "hr", "--dry-run", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    planned = json.loads(cli.stdout)
    assert planned["left_out"] == ["ops", "sales"] and planned["gap"] is None
    assert not dry.exists()

    dest, port = pg_base_dir / "db-restored", free_port()
    result = restore(
        repo, dest, target=Target("latest"), restore_command=cmd, start_port=port,
        databases=["hr"], start_timeout=300, archive=False,
    )  # fmt: skip
    c = Cluster.attach(dest, port=port)
    c.owned.append(dest)
    try:
        assert result.databases == ["hr", "template0", "template1", "postgres"]
        assert result.left_out == ["ops", "sales"]
        assert result.dropped
        names = {r[0] for r in c.sql("SELECT datname FROM pg_database")}
        assert names == {"hr", "template0", "template1", "postgres"}
        got = {t: c.sql(ROW_HASH.format(t), dbname="hr")[0][0] for t in ("items", "later")}
        assert got == expected
        assert c.sql("SELECT count(*) FROM items", dbname="hr")[0][0] == 140_000
        # What was fetched is that database's share (within 10%), not the cluster.
        assert abs(result.bytes - share) <= 0.10 * share, (result.bytes, share, whole)
        assert result.bytes < 0.6 * whole
        assert result.bytes == planned["fetch_bytes"]
        left_out = sizes["sales"] + sizes["ops"]
        assert abs(result.zeroed_bytes - left_out) <= 0.10 * left_out
        # The cluster is healthy: a checkpoint and a new database from template1 work.
        c.sql("CHECKPOINT")
        c.sql("CREATE DATABASE fresh")
    finally:
        c.destroy()
