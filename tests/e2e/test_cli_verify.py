"""`pgdr repo verify` through the CLI: one flipped byte in each kind of object is named and
exits non-zero; a deleted index is rebuilt from packs."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "verify passphrase", "PGDR_NEW_PASSPHRASE": "second passphrase"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    url = f"file://{root}/repo"
    assert pgdr("--repo", url, "repo", "init", env=PASS).returncode == 0
    assert pgdr("--repo", url, "key", "add", "--label", "spare", env=PASS).returncode == 0
    src = Path(__file__).parents[2] / "src"
    assert pgdr("--repo", url, "dev", "store", src, "--name", "src", env=PASS).returncode == 0
    return root / "repo"


@pytest.mark.parametrize("prefix", ["config", "keys", "keyring", "data", "index", "manifests"])
def test_flipped_byte_is_named(pristine: Path, tmp_path: Path, prefix: str) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    victims = (
        sorted(p for p in (repo / prefix).rglob("*") if p.is_file())
        if prefix != "config"
        else [repo / "config"]
    )
    victim = victims[-1]
    raw = bytearray(victim.read_bytes())
    raw[random.Random(prefix).randrange(len(raw))] ^= 0x04
    victim.write_bytes(bytes(raw))
    name = victim.relative_to(repo).as_posix()
    r = pgdr("--repo", f"file://{repo}", "repo", "verify", "--read-data", env=PASS)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert name in r.stdout + r.stderr or (prefix == "keys" and "key slot" in r.stderr), (
        r.stdout + r.stderr
    )


def test_deleted_index_is_rebuilt(pristine: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    shutil.rmtree(repo / "index")
    url = f"file://{repo}"
    assert pgdr("--repo", url, "repo", "verify", env=PASS).returncode == 36
    r = pgdr("--repo", url, "--json", "repo", "verify", "--rebuild-index", "--read-data", env=PASS)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["rebuilt_index"]["blobs_indexed"] > 0
    out = tmp_path / "out"
    assert pgdr("--repo", url, "dev", "fetch", "src", out, env=PASS).returncode == 0
    src = Path(__file__).parents[2] / "src"
    for f in src.rglob("*.py"):
        assert (out / "src" / f.relative_to(src)).read_bytes() == f.read_bytes()
