"""Keys as a user meets them: the repository identity pinned on first use (KMS and S3 over
real HTTP to the moto server), empty passphrases refused, rotation that says it is not a
revocation, and `key revoke`."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from pgdr.repo.keys import KmsKey
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import one_line_error, pgdr
from tests.fixtures.forge import plant_repository
from tests.fixtures.moto_server import REGION

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


def test_replaced_repository_is_refused_until_trusted(
    tmp_path: Path, s3_url: str, moto_endpoint: str, kms_key_id: str
) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "{s3_url}"\nkms_key_id = "{kms_key_id}"\n'
        f'kms_region = "{REGION}"\nkms_endpoint = "{moto_endpoint}"\n'
    )
    state = tmp_path / "state"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return pgdr("--config", cfg, *args, env={"PGDR_STATE_DIR": str(state)})

    assert run("repo", "init").returncode == 0  # pins what it creates
    (pin,) = (state / "identity").iterdir()
    assert stat.S_IMODE(pin.stat().st_mode) == 0o600
    assert stat.S_IMODE(pin.parent.stat().st_mode) == 0o700
    assert run("repo", "info").returncode == 0

    # Bucket write plus kms:Encrypt on our key: the same repository id, but a master key the
    # attacker chose, wrapped under the configured key (so the KeyId check passes).
    kms = KmsKey(kms_key_id, REGION, moto_endpoint)
    plant_repository(open_backend(s3_url), kms, kms_key_id)
    one_line_error(run("repo", "info"), 44, "master key fingerprint", "pgdr repo trust")
    wal = tmp_path / "000000010000000000000001"
    wal.write_bytes(b"\x00" * 8192)
    one_line_error(run("wal-push", str(wal)), 44, "master key fingerprint")  # archive_command

    r = run("repo", "trust")  # the operator accepts it explicitly
    assert r.returncode == 0 and "accepted the new identity" in r.stdout, r.stderr
    assert run("repo", "info").returncode == 0

    # Another repository at the same URL: a new repository id.
    backend = open_backend(s3_url)
    for info in backend.list():
        backend.delete(info.key)
    Repository.init(backend, kms)
    one_line_error(run("repo", "info"), 44, "repository id")
    assert run("repo", "trust").returncode == 0
    r = run("--json", "repo", "info")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["repo_id"] in pin.read_text()


def test_empty_passphrase_is_refused_on_init_and_open(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/repo"
    empty = {"PGDR_PASSPHRASE": ""}
    one_line_error(
        pgdr("--repo", url, "repo", "init", env=empty), 42, "env:PGDR_PASSPHRASE", "empty"
    )
    assert not (tmp_path / "repo").exists()

    assert pgdr("--repo", url, "repo", "init", env=PASS).returncode == 0
    one_line_error(pgdr("--repo", url, "repo", "info", env=empty), 42, "env:PGDR_PASSPHRASE")
    secret = tmp_path / "passphrase"
    secret.write_text("\n")
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(f'[repositories.main]\nurl = "{url}"\npassphrase = "file:{secret}"\n')
    one_line_error(pgdr("--config", cfg, "repo", "info"), 42, f"file:{secret}", "empty")


def test_rotate_is_not_revocation_and_revoke_rotates_the_data_key(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/repo"
    assert pgdr("--repo", url, "repo", "init", env=PASS).returncode == 0
    new = {"PGDR_PASSPHRASE": "another passphrase"}
    r = pgdr(
        "--repo", url, "key", "rotate", env={**PASS, "PGDR_NEW_PASSPHRASE": new["PGDR_PASSPHRASE"]}
    )
    assert r.returncode == 0, r.stderr
    assert "not a revocation" in r.stdout and "master key is unchanged" in r.stdout

    third = "a third passphrase"
    r = pgdr("--json", "--repo", url, "key", "add", env={**new, "PGDR_NEW_PASSPHRASE": third})
    assert r.returncode == 0, r.stderr
    slot = json.loads(r.stdout)["added"]

    other_host = {**new, "PGDR_STATE_DIR": str(tmp_path / "other-state")}
    assert pgdr("--repo", url, "repo", "info", env=other_host).returncode == 0  # pins M1

    r = pgdr("--json", "--repo", url, "key", "revoke", slot, env=new)
    assert r.returncode == 0, r.stderr
    revoked = json.loads(r.stdout)
    assert revoked["removed"] == slot and revoked["data_key"] and revoked["master"]
    assert revoked["added"] and "rekey --rewrite" in revoked["note"]
    one_line_error(pgdr("--repo", url, "repo", "info", env={"PGDR_PASSPHRASE": third}), 41)
    r = pgdr("--repo", url, "key", "list", env=new)  # the pin here followed the new master key
    assert r.returncode == 0, r.stderr
    r = pgdr("--repo", url, "repo", "verify", "--read-data", env=new)
    assert r.returncode == 0, r.stdout + r.stderr
    one_line_error(pgdr("--repo", url, "repo", "info", env=other_host), 44, "fingerprint")
    assert pgdr("--repo", url, "repo", "trust", env=other_host).returncode == 0
    assert pgdr("--repo", url, "repo", "info", env=other_host).returncode == 0
    r = pgdr("--json", "--repo", url, "audit", env=new)
    assert r.returncode == 0, r.stderr
    assert "key-revoke" in r.stdout

    # In text, revoke says what the operator must do next: re-add other keys, trust elsewhere.
    fourth = {"PGDR_NEW_PASSPHRASE": "a fourth passphrase"}
    r = pgdr("--json", "--repo", url, "key", "add", env={**new, **fourth})
    leaked = json.loads(r.stdout)["added"]
    pgdr("--repo", url, "key", "add", env={**new, "PGDR_NEW_PASSPHRASE": "a fifth one"})
    r = pgdr("--repo", url, "key", "revoke", leaked, env=new)
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "new master key" in out and "pgdr key add" in out and "pgdr repo trust" in out
    one_line_error(pgdr("--repo", url, "repo", "info", env={"PGDR_PASSPHRASE": "a fifth one"}), 41)
