"""`pgdr status` in RDS mode, against moto's server over real HTTP: the [rds] instance's PITR
lag and retention become the rds_rpo and rds_retention alerts (docs/design.md §8h) — here
retention 1 day against a policy of 35 fires rds_retention, and the lag (moto's
LatestRestorableTime is now) does not fire rds_rpo."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr
from tests.fixtures.moto_server import make_rds_instance

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


def test_status_reports_rds_pitr_lag_and_retention(moto_endpoint: str, tmp_path: Path) -> None:
    instance = make_rds_instance(moto_endpoint, f"pgdr-status{os.getpid()}", retention_days=1)
    repo = f"file://{tmp_path}/repo"
    assert pgdr("--repo", repo, "repo", "init", env=PASS).returncode == 0
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "{repo}"\npassphrase = "env:PGDR_PASSPHRASE"\n'
        f'[postgres]\nhost = "{tmp_path}/no-server"\n'
        f'[rds]\ninstance = "{instance}"\nregion = "us-east-1"\nendpoint_url = "{moto_endpoint}"\n'
    )
    cfg.chmod(0o600)
    r = pgdr("--config", cfg, "--json", "status", env=PASS)
    assert r.returncode == 92, r.stderr  # critical: no backup, no database (no RDS rpo)
    doc = json.loads(r.stdout)
    alerts = {a["name"]: a for a in doc["alerts"]}
    assert alerts["rds_retention"]["state"] == "firing"
    assert alerts["rds_retention"]["summary"] == (
        f"RDS instance {instance} keeps automated backups 1 day(s) ([rds.policy] retention_days 35)"
    )
    assert alerts["rds_rpo"]["state"] == "ok", alerts["rds_rpo"]
    assert alerts["rds_rpo"]["summary"].startswith(f"RDS instance {instance} restorable to ")
    rds = doc["rds"]
    assert rds["instance"] == instance and rds["up"] is True and rds["pitr_lag_s"] < 600
    assert (rds["retention_days"], rds["policy_days"]) == (1, 35)
    text = pgdr("--config", cfg, "status", env=PASS)
    assert f"RDS         {instance}: restorable to " in text.stdout
    assert "backups kept 1 of 35 day(s)" in text.stdout
