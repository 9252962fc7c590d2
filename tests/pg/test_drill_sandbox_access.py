"""A drill sandbox holds a full copy of production: while it runs (here kept with --keep),
only its own OS user and root reach it, its server's environment holds none of pgdr's
secrets, every file in it is owner-only, and a timing query that writes changes neither
the sandbox nor production.

One drill, run once for the module with secrets in the environment and umask 022."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db as sample
from pgdr.drill.probes import timed_run
from pgdr.drill.record import DrillRecord
from pgdr.drill.sandbox import reap
from pgdr.drill.settings import DatabaseChecks, DrillSettings, QuerySpec
from pgdr.drill.state import read_markers
from pgdr.pg.cluster import Cluster
from tests.fixtures.pg import FAST_SETTINGS
from tests.pg.archiving import _archive_setup
from tests.pg.drilling import archiving_settings, drill, open_repo, switch_and_wait
from tests.pg.intruder import assert_refused

pytestmark = pytest.mark.pg

SECRETS = {
    "PGDR_PASSPHRASE": "passphrase-3f9c1e77d2",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-8b41a0c6e5",
    "PGDR_WEB_TOKEN": "web-token-5d2e9f1a04",
    "SLACK_WEBHOOK_URL": "https://hooks.example/T0/B0/slack-secret-71c3",
}
WRITES = "WITH gone AS (DELETE FROM recalls WHERE id = 1 RETURNING 1) SELECT count(*) FROM gone"


@pytest.fixture(scope="module")
def kept(pg_bindir: Path, pg_base_dir: Path) -> Iterator[dict[str, Any]]:
    setup = _archive_setup(pg_base_dir)
    root = Path(setup["root"])
    src = Cluster.create(
        root / "src", bindir=pg_bindir, settings={**FAST_SETTINGS, **archiving_settings(setup)}
    )
    settings = DrillSettings(
        state_dir=root / "state",
        sandbox_dir=root / "sandboxes",
        amcheck=False,
        checksums=False,
        performance_baseline="production",
        query_timeout_s=5,
        databases={
            "postgres": DatabaseChecks(
                queries=[
                    QuerySpec(name="reads", sql="SELECT count(*) FROM recalls", runs=1),
                    QuerySpec(name="writes", sql=WRITES, runs=1),
                ]
            )
        },
    )
    old_umask = os.umask(0o022)
    try:
        src.start()
        with src.connect() as conn:
            sample.load(conn, scale=0.005)
        take_backup(open_repo(setup), src.conninfo(), label="nightly")
        switch_and_wait(src)
        with pytest.MonkeyPatch.context() as mp:
            for name, value in SECRETS.items():
                mp.setenv(name, value)
            rec = drill(setup, settings, production=src.conninfo, keep=True)
        yield {"rec": rec, "src": src, "settings": settings, "bindir": pg_bindir}
    finally:
        os.umask(old_umask)
        reap(settings.state_dir or root, include_kept=True)
        src.destroy()


def _sandbox(kept: dict[str, Any]) -> tuple[Path, Path, int, int]:
    """(base dir, socket dir, port, postmaster pid) of the kept sandbox."""
    rec: DrillRecord = kept["rec"]
    assert rec.error is None, rec.error
    ((_p, marker),) = read_markers(kept["settings"].state_dir)
    assert marker.kept
    base = Path(marker.base_dir)
    socket_dir = next(p for p in [base / "data.run", *map(Path, marker.extra)] if p.is_dir())
    pid = int((base / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    return base, socket_dir, marker.port, pid


def test_other_os_user_reaches_the_kept_sandbox_neither_by_tcp_nor_socket(
    kept: dict[str, Any],
) -> None:
    base, socket_dir, port, _pid = _sandbox(kept)
    with psycopg.connect(host=str(socket_dir), port=port, user="postgres") as conn:  # we can
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
    assert_refused(kept["bindir"], socket_dir, port)
    for name in ("pg_hba.conf", "pg_ident.conf"):
        assert "trust" not in (base / name).read_text()


def test_sandbox_server_environment_holds_no_secret(kept: dict[str, Any]) -> None:
    _base, _sock, _port, pid = _sandbox(kept)
    pids = [pid] + [
        int(p.name)
        for p in Path("/proc").glob("[0-9]*")
        if (p / "stat").exists() and _parent(p) == pid
    ]
    assert len(pids) > 1  # the postmaster and its children
    for p in pids:
        environ = Path(f"/proc/{p}/environ").read_bytes()
        for name, value in SECRETS.items():
            assert value.encode() not in environ, f"{name} in the environment of {p}"
            assert f"{name}=".encode() not in environ


def _parent(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_every_file_in_the_kept_sandbox_is_owner_only(kept: dict[str, Any]) -> None:
    base, socket_dir, _port, _pid = _sandbox(kept)
    loose = []
    for place in {base, socket_dir}:
        for entry in [place, *place.rglob("*")]:
            st = entry.lstat()
            if not entry.is_symlink() and st.st_mode & 0o077:
                loose.append(f"{entry} {st.st_mode & 0o777:o}")
    assert not loose, loose
    assert len(list(base.rglob("*"))) > 100  # a whole data directory was looked at


def test_timing_query_that_writes_is_refused(kept: dict[str, Any]) -> None:
    rec: DrillRecord = kept["rec"]
    checks = {c.name: c for c in rec.checks}
    assert checks["performance: reads"].status == "pass", checks["performance: reads"].detail
    refused = checks["performance: writes"]
    assert refused.status == "fail" and refused.detail.startswith("refused: ")
    assert "read-only" in refused.detail and "\n" not in refused.detail
    assert rec.result == "failed" and "performance: writes" in rec.message
    src: Cluster = kept["src"]
    assert src.sql("SELECT count(*) FROM recalls WHERE id = 1") == [(1,)]  # production intact


@pytest.mark.parametrize(
    "query",
    [
        WRITES,
        "SELECT 1; DELETE FROM recalls WHERE id = 1",
        "SET TRANSACTION READ WRITE; DELETE FROM recalls WHERE id = 1",
        "COMMIT; DELETE FROM recalls WHERE id = 1",
        "SELECT nextval('probe_seq')",
    ],
)
def test_timed_run_never_writes(kept: dict[str, Any], query: str) -> None:
    src: Cluster = kept["src"]
    src.sql("CREATE SEQUENCE IF NOT EXISTS probe_seq")
    (before,) = src.sql("SELECT last_value FROM probe_seq")[0]
    with src.connect() as conn, pytest.raises(psycopg.Error):
        timed_run(conn, query, 5000)
    assert src.sql("SELECT count(*) FROM recalls WHERE id = 1") == [(1,)]
    assert src.sql("SELECT last_value FROM probe_seq") == [(before,)]


def test_timed_run_has_a_statement_timeout(kept: dict[str, Any]) -> None:
    with kept["src"].connect() as conn, pytest.raises(psycopg.errors.QueryCanceled):
        timed_run(conn, "SELECT pg_sleep(5)", 200)
