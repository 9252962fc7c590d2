"""`pgdr export` as an operator runs it: from a backup restored into a sandbox (the default),
`--live` SIGKILLed mid-way (never listed complete; a rerun completes), list / show / verify
and their exit codes (docs/design.md §8j)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db
from pgdr.drill.state import read_markers
from pgdr.pg.cluster import Cluster
from tests.e2e.cli import pgdr, spawn
from tests.fixtures.pgconfig import postgres_section
from tests.pg.drilling import archiving_settings, open_repo, switch_and_wait

pytestmark = [pytest.mark.pg, pytest.mark.e2e, pytest.mark.slow]


def _wait(what: str, check: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_export_from_backup_kill_rerun_list_show_verify(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], tmp_path: Path
) -> None:
    src = make_cluster(settings=archiving_settings(archive_setup))
    with src.connect() as conn:
        counts = reference_db.load(conn, scale=0.01)
        conn.execute("CREATE TABLE zz_last (id int)")
        conn.execute("INSERT INTO zz_last SELECT generate_series(1, 100)")
    backup = take_backup(open_repo(archive_setup), src.conninfo(), label="nightly")
    switch_and_wait(src)
    # written after the backup's target: not in an export of the backup
    src.sql("INSERT INTO zz_last SELECT generate_series(101, 150)")
    root = Path(archive_setup["root"])
    exports = tmp_path / "exports"
    cfg = root / "export.toml"
    cfg.write_text(
        archive_setup["cfg"].read_text()
        + postgres_section(src.socket_dir, src.port, "postgres")
        + f'\n[drill]\nstate_dir = "{root / "state"}"\nsandbox_dir = "{root / "sandboxes"}"\n'
        + f'\n[exports]\nurl = "file://{exports}"\nprefix = "monthly"\n'
    )

    # 1. the default source: the latest backup restored into a sandbox, removed afterwards
    r = pgdr("--config", cfg, "--json", "export", "run", timeout=600)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["manifest"]
    first = doc["export_id"]
    assert doc["source"]["kind"] == "backup" and doc["source"]["backup_id"] == backup.backup_id
    rows = {t["table"]: t["rows"] for t in doc["tables"]}
    assert rows == {**counts, "zz_last": 100}
    assert not read_markers(root / "state") and not list((root / "sandboxes").iterdir())
    got = duckdb.sql(
        f"SELECT count(*) FROM '{exports}/monthly/{first}/postgres/public.recalls/*.parquet'"
    ).fetchall()
    assert got == [(counts["recalls"],)]

    # 2. --live, SIGKILLed while blocked on the last table: never listed complete
    locker = src.connect(autocommit=False)
    try:
        locker.execute("LOCK TABLE zz_last IN ACCESS EXCLUSIVE MODE")
        p = spawn("--config", cfg, "export", "run", "--live", "--jobs", "1")
        _wait(
            "the export to wait for the lock",
            lambda: bool(
                src.sql(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgdr export'"
                    " AND wait_event_type = 'Lock'"
                )
            ),
        )
        p.kill()
        p.wait(30)
    finally:
        locker.rollback()
        locker.close()
    killed = sorted(d.name for d in (exports / "monthly").iterdir() if d.name != first)
    assert len(killed) == 1
    # the tables before the locked one were written; no manifest, no _SUCCESS
    written = {p.parent.name for p in (exports / "monthly" / killed[0]).rglob("*.parquet")}
    assert written == {
        "public.family_members",
        "public.recalls",
        "public.subscriptions",
        "public.users",
    }
    assert not list((exports / "monthly" / killed[0]).glob("_*"))
    r = pgdr("--config", cfg, "--json", "export", "list")
    assert r.returncode == 0, r.stderr
    assert [e["export_id"] for e in json.loads(r.stdout)["exports"]] == [first]
    r = pgdr("--config", cfg, "export", "list", "--all")
    (line,) = [ln for ln in r.stdout.splitlines() if killed[0] in ln]
    assert "INCOMPLETE" in line
    r = pgdr("--config", cfg, "export", "verify", killed[0])
    assert r.returncode == 68 and r.stderr.count("\n") == 1, r.stderr

    # 3. a rerun completes
    r = pgdr("--config", cfg, "--json", "export", "run", "--live", "--tables", "zz_*,users")
    assert r.returncode == 0, r.stderr
    second = json.loads(r.stdout)["manifest"]
    assert {t["table"]: t["rows"] for t in second["tables"]} == {
        "users": counts["users"],
        "zz_last": 150,
    }
    r = pgdr("--config", cfg, "--json", "export", "list")
    listed = [(e["export_id"], e["complete"]) for e in json.loads(r.stdout)["exports"]]
    assert listed == [(first, True), (second["export_id"], True)]
    # each complete export is one audit entry; the killed one is none
    log = pgdr("--config", cfg, "--json", "audit")
    assert log.returncode == 0, log.stderr
    audited = [e["details"] for e in json.loads(log.stdout)["entries"] if e["action"] == "export"]
    assert [(d["export_id"], d["source"], d["backup_id"], d["tables"]) for d in audited] == [
        (first, "backup", backup.backup_id, 5),
        (second["export_id"], "live", None, 2),
    ]

    # 4. show and verify; a flipped byte is exit 67 with one line naming the file
    r = pgdr("--config", cfg, "export", "show", first)
    assert r.returncode == 0 and "complete" in r.stdout and "recalls" in r.stdout, r.stderr
    assert f"backup {backup.backup_id}" in r.stdout
    r = pgdr("--config", cfg, "export", "verify", second["export_id"])
    assert r.returncode == 0 and ": OK" in r.stdout, r.stderr
    part = exports / "monthly" / second["export_id"] / second["tables"][0]["files"][0]["path"]
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))
    r = pgdr("--config", cfg, "export", "verify", second["export_id"])
    assert r.returncode == 67, r.stderr
    assert r.stderr.count("\n") == 1 and "SHA-256 differs" in r.stderr, r.stderr
