"""The backup/restore story through the CLI, as an operator runs it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.fixtures.pgconfig import add_postgres
from tests.fixtures.pgdr_run import pgdr
from tests.pg.archiving import archiving_cluster, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def test_backup_info_restore_start(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    cfg: Path = archive_setup["cfg"]
    src = archiving_cluster(make_cluster, cfg)
    add_postgres(cfg, src, user="postgres")
    src.sql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g")
    r = pgdr("--config", cfg, "--json", "backup", "--label", "nightly", "--annotation", "env=test")
    assert r.returncode == 0, r.stderr
    b = json.loads(r.stdout)
    assert b["label"] == "nightly" and b["files"] > 100
    src.sql("INSERT INTO t VALUES (20001, 'after')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    info = json.loads(pgdr("--config", cfg, "--json", "info").stdout)
    assert [x["id"] for x in info["backups"]] == [b["backup_id"]]
    assert info["backups"][0]["annotations"] == {"env": "test"}
    assert info["wal"][0]["timeline"] == 1 and info["wal"][0]["gaps"] == []
    assert info["window_start"] and info["window_end"] >= info["window_start"]

    dest = pg_base_dir / "cli-restored"
    port = free_port()
    r = pgdr(
        "--config", cfg, "--json", "restore", "--data-dir", dest, "--start", "--port", str(port)
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["in_recovery"] is False and set(res["phases"]) >= {
        "fetch+write",
        "startup",
        "wal replay",
    }
    restored = Cluster.attach(dest, port=port)
    restored.owned.append(dest)
    try:
        assert restored.sql("SELECT count(*), max(v) FILTER (WHERE id = 20001) FROM t")[0] == (
            20001,
            "after",
        )
    finally:
        restored.destroy()

    r = pgdr("--config", cfg, "restore", "--data-dir", dest, "--time", "2000-01-01T00:00:00+00:00")
    assert r.returncode == 2 and "no backup finished before" in r.stderr and not dest.exists()


def test_passphrase_from_the_environment_never_reaches_the_restored_server(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository opened with PGDR_PASSPHRASE: the backup has it from our environment,
    archive_command from the production stand-in's (given explicitly, as an operator gives
    it to production). The server `restore --start` starts never gets it — its WAL is placed
    before the start — and still reaches the newest row."""
    from pgdr.pg.osuser import make_interpreter_reachable

    make_interpreter_reachable()
    monkeypatch.setenv("PGDR_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("PGDR_KDF_N", "1024")
    root = pg_base_dir / "passphrase"
    root.mkdir(mode=0o777)
    root.chmod(0o777)
    url = f"file://{root}/repo"
    assert pgdr("--repo", url, "repo", "init").returncode == 0
    from pgdr.pg.osuser import chown_tree, resolve_runas

    chown_tree(root, resolve_runas())
    push = f"{sys.executable} -m pgdr --repo {url} wal-push %p"
    src = make_cluster(
        settings={"archive_mode": "on", "archive_command": push, "archive_timeout": 0},
        env={"PGDR_PASSPHRASE": "correct horse battery staple", "PGDR_KDF_N": "1024"},
    )
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
    conn = ["--pg-host", str(src.socket_dir), "--pg-port", str(src.port)]
    r = pgdr("--repo", url, "backup", *conn)
    assert r.returncode == 0, r.stderr
    src.sql("INSERT INTO t VALUES (1001)")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    dest, port = pg_base_dir / "passphrase-restored", free_port()
    r = pgdr("--repo", url, "restore", "--data-dir", dest, "--start", "--port", str(port))
    restored = Cluster.attach(dest, port=port)
    restored.owned.append(dest)
    try:
        assert r.returncode == 0, r.stderr + restored.log_tail(10)
        assert restored.sql("SELECT count(*) FROM t")[0][0] == 1001
        pid = restored.postmaster_pid()
        assert b"correct horse" not in Path(f"/proc/{pid}/environ").read_bytes()
    finally:
        restored.destroy()
