"""A restore beside production (the README's `restore … --start --port N`, to recover rows)
must not poison later drills: by default it does not archive; and even a side restore that
did archive its timeline (`--archive-mode preserve`, the old default) is recognised as a side
branch — `info` marks production's timeline, the drill follows it and its record and report
name the timeline followed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.e2e.cli import pgdr
from tests.fixtures.pgconfig import add_postgres
from tests.pg.archiving import archiving_cluster, wait_archived
from tests.pg.drilling import open_repo, switch_and_wait

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def run(cfg: Path, *args: str | Path) -> dict[str, Any]:
    r = pgdr("--config", cfg, "--json", *args, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def side_restore(cfg: Path, dest: Path, *extra: str) -> Cluster:
    port = free_port()
    r = pgdr("--config", cfg, "restore", "--data-dir", dest, "--start", "--port", str(port), *extra)
    side = Cluster.attach(dest, port=port)
    side.owned.append(dest)
    assert r.returncode == 0, r.stderr + side.log_tail(5)
    return side


def test_side_restores_leave_drills_on_productions_timeline(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], pg_base_dir: Path
) -> None:
    root, cfg = Path(archive_setup["root"]), Path(archive_setup["cfg"])
    src = archiving_cluster(make_cluster, cfg)
    add_postgres(
        cfg,
        src,
        user="postgres",
        more=f'\n[drill]\nstate_dir = "{root / "state"}"\nsandbox_dir = "{root / "sandboxes"}"\n',
    )
    src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 4000) g")
    run(cfg, "backup", "--type", "full")
    switch_and_wait(src)

    # 1. The README's side restore: archiving is off by default, nothing reaches the repo.
    side = side_restore(cfg, pg_base_dir / "side-default")
    try:
        assert side.sql("SHOW archive_mode")[0][0] == "off"
        side.sql("INSERT INTO t SELECT g FROM generate_series(4001, 5000) g")
        side.sql("SELECT pg_switch_wal()")
    finally:
        side.destroy()
    assert [w["timeline"] for w in run(cfg, "info")["wal"]] == [1]

    # 2. A side restore told to keep the source's archiving (the old default) archives
    #    timeline 2 with more rows than production has ...
    side = side_restore(cfg, pg_base_dir / "side-preserve", "--archive-mode", "preserve")
    try:
        side.sql("INSERT INTO t SELECT g FROM generate_series(4001, 5000) g")
        wait_archived(side, str(side.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    finally:
        side.destroy()
    assert {w["timeline"] for w in run(cfg, "info")["wal"]} == {1, 2}
    # ... while production goes on writing on timeline 1.
    time.sleep(1.1)  # storage times of one-second file systems: strictly later
    src.sql("INSERT INTO t SELECT g FROM generate_series(4001, 4100) g")
    switch_and_wait(src)

    info = run(cfg, "info")
    assert info["production_timeline"] == 1
    roles = {w["timeline"]: w["role"] for w in info["wal"]}
    assert roles[1] == "production" and roles[2].startswith("side branch off timeline 1")
    text = pgdr("--config", cfg, "info").stdout
    assert "WAL timeline 1 (production)" in text and "recoverable window on timeline 1" in text

    report = pg_base_dir / "drill.md"
    rec = run(cfg, "drill", "--report", report)
    assert rec["result"] == "passed", rec["message"]
    assert rec["timeline"] == {
        "followed": "1",
        "backup": "1",
        "production": 1,
        "role": "production",
    }
    rows = {t["name"]: t["rows"] for t in rec["data"]["postgres"]["tables"]}
    assert rows["public.t"] == 4100  # production's rows, not the side branch's 5000
    assert "timeline 1 (production)" in report.read_text()
    # A plain restore of the latest state follows production too.
    dest = pg_base_dir / "latest"
    res = run(cfg, "restore", "--data-dir", dest)
    assert res["timeline"] == "1" and res["timeline_role"] == "production"
    assert res["archive_mode"] == "off"
    assert "archive_mode = 'off'" in (dest / "postgresql.auto.conf").read_text()
    assert open_repo(archive_setup).backend.stat("wal/00000002/00000002.history") is not None
