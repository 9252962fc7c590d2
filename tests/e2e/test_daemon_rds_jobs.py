"""`pgdr serve` with [rds] and `[schedule] rds_snapshot` runs the scheduled RDS snapshot as
the daemon's own job (wired by the CLI from the config): recorded in /api/jobs, one per slot,
each snapshot taken in moto over real HTTP and copied to the DR region. No PostgreSQL is
needed: the job speaks only to AWS and the repository. Without [exports] url the daemon
watches where `pgdr rds export` writes ([rds.exports]): an RDS export made before it started
is its newest complete export, on time against [schedule] rds_export. The dashboard, in
headless Chromium, shows the instance's card (RDS mode only) with what /api/status says of
it."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from pgdr.config import load_config
from pgdr.config_rds import require_rds
from pgdr.pg.osuser import free_port
from pgdr.rds.client import Aws
from pgdr.rds.export import run_export, task_id
from pgdr.rds.snapshot import take
from pgdr.rds.wait import Waiting
from tests.e2e.cli import pgdr
from tests.fixtures.moto_server import make_kms_key, make_rds_instance
from tests.fixtures.rds_export_files import export_objects
from tests.pg.browser import CHROMIUM, load_dom, screenshot
from tests.pg.serve import Serve, job

pytestmark = pytest.mark.e2e

PRIMARY, DR = "us-east-1", "eu-west-1"


def test_serve_runs_the_scheduled_rds_snapshot(tmp_path: Path, moto_endpoint: str) -> None:
    # [rds.policy] asks 35 days (its default): rds_retention fires
    instance = make_rds_instance(moto_endpoint, f"pgdr-serve{os.getpid()}", retention_days=7)
    dr_key = make_kms_key(moto_endpoint, DR)
    bucket = f"pgdr-serve-exports-{os.getpid()}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY).create_bucket(Bucket=bucket)
    port = free_port()
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path}/repo"\nunencrypted = true\n\n'
        f'[postgres]\nhost = "{tmp_path}"\nport = {free_port()}\n\n'
        f'[web]\nlisten = "127.0.0.1:{port}"\ntoken = "env:PGDR_TEST_WEB_TOKEN"\n\n'
        f'[daemon]\nstate_dir = "{tmp_path}/state"\neval_interval_s = 1\nretry_s = 1\n\n'
        '[schedule]\nbackup_full = "off"\nbackup_incr = "off"\ndrill = "off"\n'
        'verify = "off"\nexport = "off"\nrds_snapshot = "@every 2s"\nrds_export = "@monthly"\n\n'
        f'[rds]\ninstance = "{instance}"\nregion = "{PRIMARY}"\nendpoint_url = "{moto_endpoint}"\n'
        f'[[rds.policy.copy_regions]]\nregion = "{DR}"\nkms_key_id = "{dr_key}"\n'
        f'[rds.exports]\nbucket = "{bucket}"\n'
        'iam_role_arn = "arn:aws:iam::123456789012:role/pgdr-rds-export"\n'
        f'kms_key_id = "arn:aws:kms:{PRIMARY}:123456789012:key/export"\n'
    )
    cfg.chmod(0o600)
    r = pgdr("--config", cfg, "repo", "init")
    assert r.returncode == 0, r.stderr
    # an RDS export before the daemon starts (moto writes no export files: staged here)
    rds_settings = require_rds(load_config(cfg))
    aws = Aws(endpoint_url=moto_endpoint)
    take(aws, rds_settings, now=datetime.now(UTC), waiting=Waiting(timeout_s=30), expire=False)
    export_id = "20261208T060000Z-0e0e0e"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY)
    for rel, data in export_objects(task_id(export_id)).items():
        s3.put_object(Bucket=bucket, Key=f"rds-export-staging/{rel}", Body=data)
    run_export(aws, rds_settings, now=datetime.now(UTC), waiting=Waiting(timeout_s=30),
               export_id=export_id)  # fmt: skip

    srv = Serve(cfg, port, tmp_path / "serve.log").start()
    try:
        srv.wait_for(
            "two scheduled RDS snapshots", lambda st: job(st, "rds_snapshot").get("runs", 0) >= 2
        )
        recs = json.loads(srv.get("/api/jobs?kind=rds_snapshot"))["jobs"]
        status = srv.status()
        dom = None
        if Path(CHROMIUM).exists():
            dom = load_dom(port, tmp_path / "chromium")
            screenshot(port, tmp_path / "shot", "dashboard-rds.png", "1400,1800")  # to the RDS card
        assert srv.stop() == 0
    finally:
        srv.kill()
    assert all(r["status"] == "success" for r in recs), recs
    assert len({r["slot"] for r in recs}) == len(recs)  # one per slot
    taken = {r["result"]["identifier"] for r in recs}
    assert len(taken) == len(recs)
    for r in recs:
        assert r["result"]["instance"] == instance
        assert [c["region"] for c in r["result"]["copies"]] == [DR]
    for region in (PRIMARY, DR):
        client = boto3.client("rds", endpoint_url=moto_endpoint, region_name=region)
        there = {
            x["DBSnapshotIdentifier"]
            for x in client.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        }
        assert taken <= there, (region, taken, there)

    e = status["exports"]
    assert (e["state"], e["complete"], e["latest"]["id"]) == ("ok", 1, export_id), e
    assert e["url"].startswith(f"s3://{bucket}") and e["period_s"] == 31 * 86400

    r = status["rds"]
    assert r["instance"] == instance and r["up"] and r["pitr_lag_s"] is not None
    if dom is None:
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    card = re.search(r'<ul class="rds (\w+)" data-chart="rds"[^>]*>(.*?)</ul>', dom, re.S)
    assert card, dom[-3000:]
    firing = {a["name"] for a in status["alerts"] if a["state"] == "firing"}
    assert "rds_retention" in firing and "rds_rpo" not in firing
    assert "backup_age" not in firing  # AWS takes the backups: an empty repository is normal
    assert card.group(1) == "warn"  # restorable, but kept fewer days than the policy asks
    assert f"{instance}: restorable to " in card.group(2) and " ago<" in card.group(2)
    assert "automated backups kept 7 day(s); [rds.policy] asks 35" in card.group(2)
    assert '<main class="rds-mode">' in dom and 'data-clipped="0"' in dom


def test_exports_where_rds_exports_land_are_late_against_the_rds_export(
    tmp_path: Path, moto_endpoint: str
) -> None:
    """[exports] url set to where RDS exports land (RdsExports' advice) while pgdr's own
    export is off: `pgdr status` judges the exports against [schedule] rds_export."""
    (tmp_path / "exports").mkdir()
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path}/repo"\nunencrypted = true\n\n'
        f'[postgres]\nhost = "{tmp_path}"\nport = {free_port()}\n\n'
        f'[daemon]\nstate_dir = "{tmp_path}/state"\n\n'
        f'[exports]\nurl = "file://{tmp_path}/exports"\n\n'
        '[schedule]\nexport = "off"\nrds_export = "0 6 1 * *"\n\n'
        f'[rds]\ninstance = "pgdr-none"\nregion = "{PRIMARY}"\nendpoint_url = "{moto_endpoint}"\n'
    )
    cfg.chmod(0o600)
    assert pgdr("--config", cfg, "repo", "init").returncode == 0
    r = pgdr("--config", cfg, "--json", "status")
    e = json.loads(r.stdout)["exports"]
    assert e["period_s"] == 31 * 86400 and e["configured"], e
    assert e["state"] == "late" and "no complete export" in e["detail"], e
