"""`pgdr serve` against a throw-away cluster with a fast schedule: backups, verifies and a
drill run on time, one per slot; SIGTERM lets a running job finish; a restart runs what was
missed exactly once; /metrics agrees with the repository (`pgdr info`) and with the file
system; and the dashboard, in headless Chromium behind its auth, draws every chart
(tests/pg/browser.py; the screenshot goes to artifacts/dashboard.png)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgdr_run import pgdr
from tests.pg.browser import check_charts, check_dashboard
from tests.pg.serve import Serve, archiving_cluster, job, write_config

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

SCHEDULE = """
[schedule]
backup_full = "off"
backup_incr = "@every 4s"
verify = "@every 3s"
drill = "@every 6s"
export = "off"

[drill]
amcheck = false
checksums = false

[daemon]
state_dir = "STATE_DIR"
eval_interval_s = 1
retry_s = 1
shutdown_grace_s = 60
"""


def records(srv: Serve, kind: str) -> list[dict[str, Any]]:
    return list(reversed(json.loads(srv.get(f"/api/jobs?kind={kind}"))["jobs"]))


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_schedule_restart_metrics_and_dashboard(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], tmp_path: Path
) -> None:
    root: Path = archive_setup["root"]
    cluster = archiving_cluster(make_cluster, archive_setup["cfg"])
    cluster.sql(
        "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g"
    )
    cfg, port = write_config(archive_setup, cluster, SCHEDULE)
    r = pgdr("--config", cfg, "backup", "--type", "full")
    assert r.returncode == 0, r.stderr
    log = root / "serve.log"

    # 1. jobs run on time, one per slot
    srv = Serve(cfg, port, log).start()
    try:
        srv.wait_for(
            "two incremental backups and two verifies",
            lambda st: (
                job(st, "backup_incr").get("runs", 0) >= 2 and job(st, "verify").get("runs", 0) >= 2
            ),
        )
        for kind, period in (("backup_incr", 4), ("verify", 3)):
            recs = records(srv, kind)
            assert all(r["status"] == "success" for r in recs), recs
            if kind == "backup_incr":  # retention runs after each backup (nothing old to drop)
                assert all(
                    r["result"].get("expire", {}).get("removed_backups") == [] for r in recs
                ), recs
            slots = [ts(r["slot"]) for r in recs]
            assert len(set(slots)) == len(slots), [
                (r["id"], r["slot"], r["started"], r["finished"], r.get("attempts")) for r in recs
            ]  # never twice
            assert all(s % period == 0 for s in slots)  # on the schedule's slots
            for r in recs:  # on time: at its slot, or as soon as the previous run ended
                late = ts(r["started"]) - ts(r["slot"])
                ended = [ts(p["finished"]) for p in recs if p["finished"] <= r["started"]]
                after_previous = bool(ended) and ts(r["started"]) - max(ended) < 1.5
                assert late >= 0 and (late < 2.5 or after_previous), r
        # 2. SIGTERM while a backup runs: it finishes and is recorded before the exit
        st = srv.wait_for("a running backup", lambda st: job(st, "backup_incr").get("running"))
        running_slot = job(st, "backup_incr")["running"]
        assert srv.stop() == 0
    finally:
        srv.kill()
    assert "waiting for backup_incr" in srv.log_text()
    stopped_at = time.time()

    # 3. down for a while; the restart catches up once, and every slot is accounted for
    time.sleep(5)
    srv = Serve(cfg, port, log).start()
    try:
        st = srv.wait_for(
            "the catch-up backup",
            lambda st: any(ts(r["started"]) > stopped_at + 4 for r in records(srv, "backup_incr")),
        )
        recs = records(srv, "backup_incr")
        assert running_slot in [r["slot"] for r in recs], "the job SIGTERM let finish is recorded"
        catch_up = next(r for r in recs if ts(r["started"]) > stopped_at + 4)
        assert catch_up["missed"] >= 0 and ts(catch_up["started"]) - ts(catch_up["slot"]) < 4
        slots = [ts(r["slot"]) for r in recs]
        assert len(set(slots)) == len(slots)
        accounted = sum(1 + r["missed"] for r in recs)
        assert accounted == (max(slots) - min(slots)) / 4 + 1, recs  # no slot lost
        info = json.loads(pgdr("--config", cfg, "--json", "info").stdout)
        slots_of_backups = [
            b["annotations"].get("pgdr.slot") for b in info["backups"] if b["type"] == "incr"
        ]
        assert len(slots_of_backups) == len(set(slots_of_backups))  # no slot backed up twice
        assert srv.stop() == 0
    finally:
        srv.kill()

    # 4. a quiet daemon (no jobs): /metrics against `pgdr info` and the file system
    quiet = cfg.read_text()
    for every in ('"@every 4s"', '"@every 3s"', '"@every 6s"'):
        quiet = quiet.replace(every, '"off"')
    assert "@every" not in quiet
    cfg.write_text(quiet)
    srv = Serve(cfg, port, log).start()
    try:
        srv.status()
        m = srv.metrics()
        info = json.loads(pgdr("--config", cfg, "--json", "info").stdout)
        jobs = json.loads(srv.get("/api/jobs"))["jobs"]
        check_metrics(m, info, jobs, archive_setup)
        # 5. the dashboard in a real browser; its captions and axes agree with the API and
        # with `pgdr info --json`: every backup succeeded, the first (a full) by hand
        dom = check_dashboard(port, tmp_path, len(info["backups"]))
        manual = [b for b in info["backups"] if "pgdr.job" not in b["annotations"]]
        assert len(manual) == 1
        for attempt in range(3):  # WAL archived meanwhile changes the repository's total
            status, history = srv.status(), json.loads(srv.get("/api/history"))
            if f'data-total="{status["repository"]["total_bytes"]}"' in dom or attempt == 2:
                break
            dom = check_dashboard(port, tmp_path / str(attempt), len(info["backups"]))
        stored = sum(b["stored_bytes"] for b in info["backups"])
        assert history["storage"]["data_bytes"] == stored
        check_charts(dom, status, history, succeeded=len(info["backups"]), manual=1)
    finally:
        assert srv.stop() == 0


def check_metrics(
    m: dict[str, float], info: dict[str, Any], jobs: list[dict[str, Any]], setup: dict[str, Any]
) -> None:
    backups = info["backups"]
    incr = [b for b in backups if b["type"] == "incr"]
    full = [b for b in backups if b["type"] == "full"]
    assert m['pgdr_backups{type="full"}'] == len(full) == 1
    assert m['pgdr_backups{type="incr"}'] == len(incr) >= 3
    assert m['pgdr_backup_last_stored_bytes{type="incr"}'] == incr[-1]["stored_bytes"]
    assert m['pgdr_backup_last_size_bytes{type="full"}'] == full[-1]["bytes"]
    assert m['pgdr_backup_last_success_timestamp_seconds{type="incr"}'] == pytest.approx(
        ts(incr[-1]["stop_time"])
    )
    assert m['pgdr_backup_last_duration_seconds{type="full"}'] == pytest.approx(full[0]["seconds"])
    age = m['pgdr_backup_last_success_age_seconds{type="incr"}']
    assert 0 < age < time.time() - ts(incr[-1]["stop_time"]) + 1
    assert m["pgdr_recovery_window_start_timestamp_seconds"] == pytest.approx(
        ts(info["window_start"])
    )
    assert m["pgdr_recovery_window_end_timestamp_seconds"] == pytest.approx(ts(info["window_end"]))
    repo_dir = Path(str(setup["url"]).removeprefix("file://"))
    for kind in ("data", "index", "wal", "manifests"):
        on_disk = sum(
            p.stat().st_size
            for p in (repo_dir / kind).rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        assert m[f'pgdr_repository_bytes{{kind="{kind}"}}'] == on_disk, kind
    # every pack was uploaded by exactly one backup, which counted it in its stored bytes
    assert sum(b["stored_bytes"] for b in backups) == m['pgdr_repository_bytes{kind="data"}']
    incr_ok = sum(1 for j in jobs if j["kind"] == "backup_incr" and j["status"] == "success")
    assert m['pgdr_job_runs_total{kind="backup_incr",result="success"}'] == incr_ok
    assert m["pgdr_postgres_up"] == 1 and m["pgdr_repository_up"] == 1
    assert m["pgdr_wal_archive_lag_segments"] == 0 and m["pgdr_wal_archive_failing"] == 0
    st = os.statvfs(repo_dir)
    free = m[f'pgdr_storage_free_bytes{{path="{repo_dir}",volume="repository"}}']
    assert free == pytest.approx(st.f_bavail * st.f_frsize, rel=0.02)
    assert m['pgdr_alert_firing{alert="backup_age",severity="critical"}'] == 0
    drill = next(j for j in jobs if j["kind"] == "drill")  # newest first
    assert m["pgdr_drill_last_success"] == 1
    assert m["pgdr_drill_last_rto_seconds"] == drill["result"]["rto_seconds"]
