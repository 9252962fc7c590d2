"""`pgdr drill` as an operator (or a scheduler) runs it: killed with SIGKILL mid-way (the
next drill, or `pgdr drill cleanup`, removes what it left), stopped with SIGTERM (cleans up
itself), --keep, --report, history, exit codes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db
from pgdr.drill.state import Marker, read_markers
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import process_in_dir
from tests.e2e.cli import pgdr, spawn
from tests.fixtures.pgconfig import postgres_section
from tests.fixtures.receiver import receiver
from tests.pg.drilling import archiving_settings, open_repo, switch_and_wait

pytestmark = [pytest.mark.pg, pytest.mark.e2e, pytest.mark.slow]


def _postmaster_alive(m: Marker) -> bool:
    try:
        pid = int((Path(m.data_dir) / "postmaster.pid").read_text().split("\n")[0])
    except (OSError, ValueError):
        return False
    return process_in_dir(pid, Path(m.data_dir))


def _midway(state: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> Marker:
    """Wait until the drill's sandbox server runs (the slow assertion then holds it in
    validation for seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        for _p, m in read_markers(state):
            if not m.kept and _postmaster_alive(m):
                time.sleep(1.0)
                return m
        time.sleep(0.05)
    raise AssertionError("the drill never got a running sandbox")


def _gone(m: Marker) -> bool:
    return not Path(m.base_dir).exists() and not _postmaster_alive(m)


def test_kill_term_keep_report_history(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], tmp_path: Path
) -> None:
    src = make_cluster(settings=archiving_settings(archive_setup))
    with src.connect() as conn:
        reference_db.load(conn, scale=0.005)
    take_backup(open_repo(archive_setup), src.conninfo(), label="nightly")
    switch_and_wait(src)
    root = Path(archive_setup["root"])
    state = root / "state"
    base = (
        archive_setup["cfg"].read_text()
        + postgres_section(src.socket_dir, src.port, "postgres")
        + f'\n[drill]\nstate_dir = "{state}"\nsandbox_dir = "{root / "sandboxes"}"\n'
    )
    with receiver() as hook:
        (root / "hook-url").write_text(hook.url + "/drills")
        notify = f'\n[notifications.ops]\ntype = "webhook"\nurl = "file:{root / "hook-url"}"\n'
        cfg = root / "drill.toml"
        cfg.write_text(base + notify)
        slow = root / "slow.toml"
        slow.write_text(
            base + '\n[[drill.databases.postgres.assertions]]\nname = "slow"\n'
            'sql = "SELECT pg_sleep(6) IS NOT NULL"\n' + notify
        )
        strict = root / "strict.toml"
        strict.write_text(base + "\n[drill.databases.postgres.min_rows]\nrecalls = 1000000\n")

        # 1. SIGKILL mid-way: the sandbox's postgres is orphaned, still running
        p = spawn("--config", slow, "drill")
        killed = _midway(state, p)
        p.kill()
        p.wait(30)
        assert _postmaster_alive(killed) and Path(killed.base_dir).exists()

        # 2. the next drill removes it first, then passes; HTML report with an inline chart
        html = tmp_path / "drill.html"
        r = pgdr("--config", cfg, "--json", "drill", "--report", html, timeout=300)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["result"] == "passed" and doc["rto_seconds"] == doc["total_seconds"] > 0
        assert _gone(killed)
        assert [s["name"] for s in doc["steps"]] == [
            "fetch",
            "instance creation",
            "wal replay",
            "connectivity",
            "validation",
            "integrity",
            "cleanup",
        ]
        page = html.read_text()
        assert "<svg" in page and page.count('class="bar"') == 7 and doc["id"] in page
        assert "<script" not in page and "<link" not in page and 'src="' not in page
        # the report names the target and where replay stopped (LSN, timeline)
        assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", doc["reached"]["lsn"]), doc["reached"]
        assert doc["reached"]["timeline"] == doc["timeline"]["followed"]
        assert f'<td class="target">{doc["target"]["kind"]}' in page
        assert f"LSN {doc['reached']['lsn']} on timeline {doc['reached']['timeline']}" in page
        (event,) = hook.bodies("/drills")
        assert event["status"] == "ok" and event["details"]["drill_id"] == doc["id"]
        log = json.loads(pgdr("--config", cfg, "--json", "audit", "--verify").stdout)
        drills = [e for e in log["entries"] if e["action"] == "drill"]
        assert drills[-1]["details"]["object"] == f"manifests/drill/{doc['id']}"
        assert drills[-1]["details"]["outcome"] == "passed" and log["ok"]

        # 3. SIGKILL again; `pgdr drill cleanup` removes the leftovers
        p = spawn("--config", slow, "drill")
        killed = _midway(state, p)
        p.kill()
        p.wait(30)
        r = pgdr("--config", cfg, "drill", "cleanup")
        assert r.returncode == 0 and f"removed sandbox {killed.base_dir}" in r.stdout, r.stderr
        assert _gone(killed) and not read_markers(state)

        # 4. SIGTERM (a scheduler stopping it): exit 130, cleans up itself, records why
        p = spawn("--config", slow, "drill")
        stopped = _midway(state, p)
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 130
        assert _gone(stopped) and not read_markers(state)

        # 5. a failing drill: exit 60, one line naming the check; --keep leaves the sandbox
        r = pgdr("--config", strict, "--json", "drill", "--keep", timeout=300)
        assert r.returncode == 60, r.stderr
        assert json.loads(r.stdout)["result"] == "failed"  # one JSON document: the record
        assert r.stderr.startswith("pgdr: error: drill failed: rows [postgres]: public.recalls has")
        assert "Traceback" not in r.stderr
        ((_p, kept),) = read_markers(state)
        assert kept.kept and _postmaster_alive(kept)
        assert "no leftover" in pgdr("--config", cfg, "drill", "cleanup").stdout  # kept on purpose
        assert "removed sandbox" in pgdr("--config", cfg, "drill", "cleanup", "--kept").stdout
        assert _gone(kept)

        # 6. bad input: one line, exit 2, nothing left
        r = pgdr("--config", cfg, "drill", "--backup", "nope")
        assert r.returncode == 2 and "no backup with that id or label" in r.stderr
        assert not read_markers(state) and not list((root / "sandboxes").iterdir())

    # 7. history: every finished drill, pass rate, RTO and RPO
    h = json.loads(pgdr("--config", cfg, "--json", "drill", "history").stdout)
    assert [d["result"] for d in h["drills"]] == ["passed", "failed", "failed"]
    assert h["drills"][1]["message"].startswith("drill failed during ")
    assert "interrupted during" in h["drills"][1]["message"]
    assert h["total"] == 3 and h["passed"] == 1 and abs(h["pass_rate"] - 1 / 3) < 1e-9
    assert h["rto_seconds"]["max"] > 0 and h["rpo_seconds"]["last"] >= 0
    md = tmp_path / "last.md"
    r = pgdr("--config", cfg, "drill", "show", doc["id"][:20], "--report", md)
    assert r.returncode == 0 and "PASSED" in r.stdout
    assert (
        md.read_text().startswith(f"# Drill {doc['id']}: PASSED")
        and "| public.recalls |" in md.read_text()
    )
