"""`pgdr repo replicate | lag` and `pgdr audit [--verify]` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
ENV = {"PGDR_PASSPHRASE": "correct horse battery"}


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, r.stderr
    return r


def error_line(r: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("pgdr: error: ")
    for n in needles:
        assert n in first, (n, first)


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    ok(pgdr("key", "generate-file", tmp_path / "dr.key"))
    path = tmp_path / "pgdr.toml"
    path.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path}/main"\npassphrase = "env:PGDR_PASSPHRASE"\n'
        'replicate_to = ["dr"]\n'
        f'[repositories.dr]\nurl = "file://{tmp_path}/dr"\nkey_file = "{tmp_path}/dr.key"\n'
    )
    ok(pgdr("--config", path, "repo", "init", env=ENV))
    ok(pgdr("--config", path, "dev", "store", Path(__file__).parent, "--name", "t", env=ENV))
    return path


def test_replicate_lag_audit_from_the_replica(cfg: Path, tmp_path: Path) -> None:
    r = ok(pgdr("--config", cfg, "--json", "repo", "lag", env=ENV))
    before = json.loads(r.stdout)["replicas"][0]["lag"]
    assert before["initialized"] is False and before["objects_behind"] > 3

    r = ok(pgdr("--config", cfg, "--json", "repo", "replicate", env=ENV))
    (res,) = json.loads(r.stdout)["replicas"]
    assert res["complete"] and res["first_replication"] and res["slot_added"]

    # the replica alone: its own key file, no passphrase in the environment
    info = json.loads(ok(pgdr("--config", cfg, "--repo", "dr", "--json", "repo", "info")).stdout)
    assert info["manifests"] == {"files": 1} and info["key_slots"] == 1
    lag = json.loads(ok(pgdr("--config", cfg, "--json", "repo", "lag", env=ENV)).stdout)
    assert lag["replicas"][0]["lag"]["objects_behind"] == 0

    log = json.loads(ok(pgdr("--config", cfg, "--json", "audit", env=ENV)).stdout)
    assert [e["action"] for e in log["entries"]] == ["repo-init", "replicate"]
    assert log["entries"][0]["uid"] >= 0 and log["entries"][0]["host"]
    r = ok(pgdr("--config", cfg, "--repo", "dr", "audit", "--verify"))
    assert "audit chain intact: 2 entries" in r.stdout

    # the primary's first entry removed: verify names it, exit 87
    first = log["entries"][0]["key"]
    (tmp_path / "main" / first).unlink()
    r = pgdr("--config", cfg, "audit", "--verify", env=ENV)
    error_line(r, 87, "audit log broken", first)
    assert ok(pgdr("--config", cfg, "audit", env=ENV)).returncode == 0  # listing still works


def test_replicating_onto_another_repository_is_refused(cfg: Path, tmp_path: Path) -> None:
    other = f"file://{tmp_path}/other"
    ok(pgdr("--repo", other, "repo", "init", env=ENV))
    r = pgdr("--config", cfg, "repo", "replicate", "--to", other, env=ENV)
    error_line(r, 85, "another pgdr repository")


def test_replicate_to_must_name_a_configured_repository(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[repositories.main]\nurl = "file://{tmp_path}/m"\nreplicate_to = ["nope"]\n')
    error_line(pgdr("--config", bad, "config", "check"), 2, "no repository named 'nope'")
    error_line(
        pgdr("--repo", f"file://{tmp_path}/m", "repo", "replicate", env=ENV),
        2,
        "has no replicate_to",
    )


def test_key_changes_are_audited(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/repo"
    ok(pgdr("--repo", url, "repo", "init", env=ENV))
    ok(pgdr("key", "generate-file", tmp_path / "k.key"))
    added = json.loads(
        ok(
            pgdr(
                "--repo", url, "--json", "key", "add", "--new-key-file", tmp_path / "k.key", env=ENV
            )
        ).stdout
    )["added"]
    ok(pgdr("--repo", url, "key", "rotate", env={**ENV, "PGDR_NEW_PASSPHRASE": "a new passphrase"}))
    new = {"PGDR_PASSPHRASE": "a new passphrase"}
    ok(pgdr("--repo", url, "key", "remove", added, env=new))
    ok(pgdr("--repo", url, "key", "rotate-data", env=new))
    ok(pgdr("--repo", url, "repo", "gc", "--dry-run", env=new))  # changes nothing: not recorded
    ok(pgdr("--repo", url, "repo", "gc", env=new))
    ok(pgdr("--repo", url, "expire", env=new))  # recorded by the service: daemon runs too
    log = json.loads(ok(pgdr("--repo", url, "--json", "audit", "--verify", env=new)).stdout)
    assert [e["action"] for e in log["entries"]] == [
        "repo-init",
        "key-add",
        "key-rotate",
        "key-remove",
        "rotate-data-key",
        "gc",
        "expire",
    ]
    assert "who" not in log["entries"][-1]["details"]  # who/where/when are the entry's own
    assert log["entries"][1]["details"]["slot"] == added and log["ok"]
