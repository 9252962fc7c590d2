"""The daemon's export job against a throw-away cluster and a file:// target: the scheduled
export restores the latest backup into a sandbox and writes Parquet with its manifest; the
job's result, /metrics, /api/status and the dashboard's exports panel (headless Chromium)
show that export's numbers, read from its `_manifest.json` (so they survive a restart); the
7-year rule runs after the export (a crashed run's leftovers go), and `pgdr export expire`
deletes an export past seven years but never the newest, audited."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgdr_run import pgdr
from tests.pg.browser import CHROMIUM, chart_dom, load_dom, screenshot, svg_attrs
from tests.pg.serve import Serve, archiving_cluster, job, write_config

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def one_shot_every(lead_min: float = 5, lead_max: float = 10) -> tuple[str, float]:
    """``@every Ns`` (N >= 2 h) whose next slot is lead_min..lead_max seconds from now, and
    that slot: the export runs once, soon, and not again during the test."""
    now = time.time()
    for n in range(7200, 400_000):
        if lead_min <= n - now % n <= lead_max:
            return f"@every {n}s", now + n - now % n
    raise AssertionError("no interval found")  # pragma: no cover - 5 s windows are dense


def start_before_the_slot(cfg: Path, port: int, log: Path) -> Serve:
    """A daemon that started before its export slot (one with no recorded run waits for the
    first slot after its start): on a machine so loaded that the start took past the slot,
    stop it and try again with a later slot — never a wait for a slot that will not come."""
    text = cfg.read_text()
    for lead in (5.0, 15.0, 40.0):
        expr, slot = one_shot_every(lead, lead * 2)
        cfg.write_text(text.replace("EXPORT_SCHEDULE", expr))
        srv = Serve(cfg, port, log).start()
        started = datetime.fromisoformat(srv.status()["daemon"]["started"]).timestamp()
        if started < slot - 0.5:
            return srv
        assert srv.stop() == 0
    raise AssertionError(f"the daemon never started before its slot: {log.read_text()[-2000:]}")


def test_daemon_export_job_metrics_dashboard_and_expiry(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], tmp_path: Path
) -> None:
    root: Path = archive_setup["root"]
    cluster = archiving_cluster(make_cluster, archive_setup["cfg"])
    cluster.sql(
        "CREATE TABLE recalls AS SELECT g AS id, md5(g::text) AS title FROM generate_series(1, 3000) g;"
        "CREATE TABLE users AS SELECT g AS id, now() AS created FROM generate_series(1, 700) g"
    )
    exports = root / "exports"
    crashed = exports / "monthly" / "20200101T000000Z-0ddba1"  # a killed run, years ago
    (crashed / "postgres" / "public.users").mkdir(parents=True)
    part = crashed / "postgres" / "public.users" / "part-00000.parquet"
    part.write_bytes(b"PAR1 half a file")
    os.utime(part, (time.time() - 5 * 86400,) * 2)
    body = f"""
[schedule]
backup_full = "off"
backup_incr = "off"
verify = "off"
drill = "off"
export = "EXPORT_SCHEDULE"

[drill]
state_dir = "{root / "drill-state"}"
sandbox_dir = "{root / "sandboxes"}"

[exports]
url = "file://{exports}"
prefix = "monthly"

[daemon]
state_dir = "STATE_DIR"
eval_interval_s = 1
shutdown_grace_s = 120
"""
    cfg, port = write_config(archive_setup, cluster, body)
    r = pgdr("--config", cfg, "backup", "--type", "full")
    assert r.returncode == 0, r.stderr

    srv = start_before_the_slot(cfg, port, root / "serve.log")
    try:
        before = srv.status()["exports"]
        assert before["configured"] and before["latest"] is None
        st = srv.wait_for(
            "the scheduled export",
            lambda st: job(st, "export").get("last") and st["exports"]["latest"],
            timeout=300,
        )
        assert job(st, "export")["last"]["status"] == "success", job(st, "export")
        rec = json.loads(srv.get("/api/jobs?kind=export"))["jobs"][0]["result"]
        export_id = rec["export_id"]
        shown = json.loads(pgdr("--config", cfg, "--json", "export", "show", export_id).stdout)
        manifest = shown["manifest"]
        rows = {t["table"]: t["rows"] for t in manifest["tables"]}
        assert rows == {"recalls": 3000, "users": 700}
        assert {t["table"]: t["rows"] for t in rec["tables"]} == {
            "public.recalls": 3000,
            "public.users": 700,
        }
        total_bytes = sum(t["bytes"] for t in manifest["tables"])
        assert rec["rows"] == 3700 and rec["bytes"] == total_bytes and rec["seconds"] > 0
        assert rec["source_backup"] == manifest["source"]["backup_id"]
        # the 7-year rule ran after the export: the crashed run's leftovers are gone
        assert rec["expire"]["deleted"] == [crashed.name] and not files(crashed)
        assert not list((root / "sandboxes").iterdir())  # the sandbox was removed
        check_exported(srv, export_id, manifest, total_bytes)
        panel = srv.status()["exports"]
        assert panel["state"] == "ok" and panel["latest"]["id"] == export_id
        assert panel["latest"]["rows"] == 3700 and panel["latest"]["bytes"] == total_bytes
        check_panel(port, tmp_path / "dash", export_id, total_bytes)
        assert srv.stop() == 0
    finally:
        srv.kill()

    # a restart: the numbers come back from the target's manifest, no export runs again
    srv = Serve(cfg, port, root / "serve.log").start()
    try:
        check_exported(srv, export_id, manifest, total_bytes)
        assert job(srv.status(), "export")["runs"] == 1
        assert srv.stop() == 0
    finally:
        srv.kill()

    # `pgdr export expire`: a copy aged past seven years goes, the newest never, audited
    old = exports / "monthly" / "20180105T040000Z-01d0e1"
    shutil.copytree(exports / "monthly" / export_id, old)
    dry = json.loads(pgdr("--config", cfg, "--json", "export", "expire", "--dry-run").stdout)
    verdicts = {v["export_id"]: v["delete"] for v in dry["verdicts"]}
    assert verdicts == {old.name: True, export_id: False} and files(old)
    r = pgdr("--config", cfg, "--json", "export", "expire")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["deleted"] == [old.name] and not files(old)
    assert (exports / "monthly" / export_id / "_SUCCESS").exists()
    log = pgdr("--config", cfg, "--json", "audit")
    assert log.returncode == 0, log.stderr
    entries = [e for e in json.loads(log.stdout)["entries"] if e["action"] == "export-expire"]
    assert [e["details"]["exports_deleted"] for e in entries] == [[crashed.name], [old.name]]
    runs = [e["details"] for e in json.loads(log.stdout)["entries"] if e["action"] == "export"]
    assert [(d["export_id"], d["source"]) for d in runs] == [(export_id, "backup")]


def files(d: Path) -> list[Path]:
    """Objects left under an export (file:// keeps emptied directories; listings skip them)."""
    return [p for p in d.rglob("*") if p.is_file()]


def check_exported(srv: Serve, export_id: str, manifest: dict[str, Any], total: int) -> None:
    assert srv.status()["exports"]["latest"]["id"] == export_id  # waits for the first facts
    m = srv.metrics()
    finished = datetime.fromisoformat(manifest["finished"]).astimezone(UTC).timestamp()
    assert m["pgdr_export_last_success_timestamp_seconds"] == pytest.approx(finished)
    took = (
        datetime.fromisoformat(manifest["finished"]) - datetime.fromisoformat(manifest["created"])
    ).total_seconds()
    assert m["pgdr_export_last_duration_seconds"] == pytest.approx(took)
    for t in manifest["tables"]:
        labels = f'database="{t["database"]}",table="{t["schema"]}.{t["table"]}"'
        assert m[f"pgdr_export_rows{{{labels}}}"] == t["rows"]
        assert m[f"pgdr_export_bytes{{{labels}}}"] == t["bytes"]
    assert sum(v for k, v in m.items() if k.startswith("pgdr_export_bytes{")) == total
    assert m['pgdr_exports{state="complete"}'] == 1
    assert m['pgdr_alert_firing{alert="export_late",severity="warning"}'] == 0
    assert m['pgdr_alert_firing{alert="export_failed",severity="warning"}'] == 0
    assert srv.status()["exports"]["latest"]["id"] == export_id


def check_panel(port: int, tmp: Path, export_id: str, total: int) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    dom = load_dom(port, tmp)
    attrs = svg_attrs(dom, "exports")
    assert attrs["data-state"] == "ok" and attrs["data-export"] == export_id
    assert int(attrs["data-rows"]) == 3700 and int(attrs["data-bytes"]) == total
    assert attrs["data-tables"] == "2"
    text = chart_dom(dom, "exports")
    assert f">export {export_id}</text>" in text, text
    assert "2 tables · 3700 rows · " in text, text
    assert 'data-clipped="0"' in dom
    screenshot(port, tmp / "shot", "dashboard-exports.png")
