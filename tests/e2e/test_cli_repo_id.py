"""A repository id read from storage becomes part of local file names (audit checkpoints,
WAL-ingest notes): a forged one that is not 32 hex digits is refused (exit 34), and nothing
is written outside the state directory."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pgdr.repo.repoconfig import RepoConfig, decode_config, encode_config
from tests.e2e.cli import pgdr, snapshot

pytestmark = pytest.mark.e2e

SEGMENT = "000000010000000000000001"


@pytest.mark.parametrize("forged", ["../../escaped", "ABSOLUTE", "AB" * 16, "ab" * 15, 7])
def test_forged_repo_id_is_refused(tmp_path: Path, forged: object) -> None:
    if forged == "ABSOLUTE":
        forged = str(tmp_path / "escaped")
    root = tmp_path / "repo"
    env = {"PGDR_UNENCRYPTED": "1", "PGDR_STATE_DIR": str(tmp_path / "a" / "state")}
    r = pgdr("--repo", f"file://{root}", "repo", "init", "--unencrypted", env=env)
    assert r.returncode == 0, r.stderr
    cfg, _signed, _tag = decode_config((root / "config").read_bytes())
    # an unencrypted config's tag is a plain hash: anyone with write access can re-sign it
    forged_cfg: RepoConfig = replace(cfg, repo_id=forged)  # type: ignore[arg-type]
    (root / "config").write_bytes(encode_config(forged_cfg, None))
    seg = tmp_path / SEGMENT
    seg.write_bytes(b"\0" * (16 << 20))
    before = snapshot(tmp_path / "a")
    r = pgdr("--repo", f"file://{root}", "wal-push", seg, env=env)
    assert r.returncode == 34, r.stderr
    assert "repository id is not 32 hex digits" in r.stderr and len(r.stderr.splitlines()) == 1
    assert json.dumps(forged) not in r.stderr
    assert snapshot(tmp_path / "a") == before
    assert not list(tmp_path.glob("escaped*"))  # where the old code wrote its notes
    assert not list(root.rglob(SEGMENT))
