"""`pgdr rds …` as an operator runs it, against moto's server over real HTTP: policy drift
exits 106 and is fixed by apply (with an audit entry in the repository), `rds info --json`,
and AWS failures as one-line errors with their own exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.cli import one_line_error, pgdr
from tests.fixtures.moto_server import make_rds_instance

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


def _config(path: Path, endpoint: str, instance: str, repo: str) -> Path:
    path.write_text(
        f"""
[repositories.main]
url = "{repo}"
passphrase = "env:PGDR_PASSPHRASE"

[rds]
instance = "{instance}"
region = "us-east-1"
endpoint_url = "{endpoint}"

[rds.policy]
storage_encrypted = false
"""
    )
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def setup(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("rds-cli")
    instance = make_rds_instance(moto_endpoint, f"pgdr-cli{os.getpid()}", retention_days=1)
    repo = f"file://{tmp}/repo"
    assert pgdr("--repo", repo, "repo", "init", env=PASS).returncode == 0
    return _config(tmp / "pgdr.toml", moto_endpoint, instance, repo), instance


def test_drift_exit_code_apply_and_audit(setup: tuple[Path, str]) -> None:
    cfg, instance = setup
    r = pgdr("--config", cfg, "--json", "rds", "policy", "check", env=PASS)
    assert r.returncode == 106, r.stderr
    doc = json.loads(r.stdout)
    drift = {x["setting"]: x["actual"] for x in doc["settings"] if x["status"] == "drift"}
    assert drift["BackupRetentionPeriod"] == 1 and "DeletionProtection" in drift
    assert "drifts from [rds.policy]: BackupRetentionPeriod" in r.stderr

    r = pgdr("--config", cfg, "rds", "policy", "apply", env=PASS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "applied with modify_db_instance" in r.stdout
    assert pgdr("--config", cfg, "rds", "policy", "check", env=PASS).returncode == 0

    r = pgdr("--config", cfg, "--json", "audit", env=PASS)
    assert r.returncode == 0, r.stderr
    entries = [e for e in json.loads(r.stdout)["entries"] if e["action"] == "rds-policy-apply"]
    assert len(entries) == 1
    assert entries[0]["details"]["instance"] == instance
    assert entries[0]["details"]["changed"]["BackupRetentionPeriod"] == 35


def test_info_json(setup: tuple[Path, str]) -> None:
    cfg, instance = setup
    r = pgdr("--config", cfg, "--json", "rds", "info", env=PASS)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["instance"] == instance and doc["status"] == "available"
    assert set(doc["pitr"]) == {"earliest", "latest", "rpo_s", "retention_days"}
    assert set(doc["snapshots"]) == {"us-east-1"} and doc["last_export"] is None


def test_snapshot_then_info(setup: tuple[Path, str]) -> None:
    cfg, instance = setup
    r = pgdr("--config", cfg, "--json", "rds", "snapshot", env=PASS)
    assert r.returncode == 0, r.stderr
    taken = json.loads(r.stdout)
    assert taken["identifier"].startswith(f"pgdr-{instance}-") and taken["copies"] == []
    # the one snapshot is the newest: retention keeps it whatever the window says
    assert [(v["identifier"], v["keep"]) for v in taken["retention"]] == [
        (taken["identifier"], True)
    ]
    r = pgdr("--config", cfg, "--json", "rds", "info", env=PASS)
    assert [x["identifier"] for x in json.loads(r.stdout)["snapshots"]["us-east-1"]] == [
        taken["identifier"]
    ]


def test_unknown_instance_is_103(
    setup: tuple[Path, str], tmp_path: Path, moto_endpoint: str
) -> None:
    cfg = _config(tmp_path / "pgdr.toml", moto_endpoint, "no-such-db", "file:///nonexistent")
    one_line_error(pgdr("--config", cfg, "rds", "info"), 103, "DescribeDBInstances", "no-such-db")


def test_no_rds_section_is_2(tmp_path: Path) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text("")
    cfg.chmod(0o600)
    one_line_error(pgdr("--config", cfg, "rds", "policy", "check"), 2, "no [rds] section")


def test_no_aws_credentials_is_101(setup: tuple[Path, str]) -> None:
    cfg, _instance = setup
    nothing = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance role to find here
    }
    one_line_error(pgdr("--config", cfg, "rds", "info", env=nothing), 101, "no AWS credentials")
