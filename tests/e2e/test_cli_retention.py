"""The retention, GC and data-key commands as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
ENV = {"PGDR_PASSPHRASE": "a long passphrase for tests"}


def test_rotate_rekey_and_gc_through_the_cli(tmp_path: Path) -> None:
    repo = f"file://{tmp_path}/repo"

    def run(*args: str) -> dict:  # type: ignore[type-arg]
        r = pgdr("--json", "--repo", repo, *args, env=ENV)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    assert pgdr("--repo", repo, "repo", "init", env=ENV).returncode == 0
    (tmp_path / "f").write_bytes(os.urandom(600_000))
    run("dev", "store", str(tmp_path / "f"), "--name", "a")
    rot = run("key", "rotate-data")
    assert rot["keys"] == 2 and rot["action"] == "rotate-data-key"
    assert run("repo", "rekey")["remaining"] == {"pack": 1, "index": 1, "manifest": 1}
    done = run("repo", "rekey", "--rewrite")
    assert done["remaining"] == {} and done["gc"]["packs_repacked"] == 1
    assert done["current_key_id"] == rot["new_key_id"]
    dry = run("repo", "gc", "--dry-run")
    assert dry["gc"]["dry_run"] and dry["gc"]["packs_deleted"] == 0
    assert pgdr("--repo", repo, "repo", "verify", "--read-data", env=ENV).returncode == 0
    missing = pgdr("--repo", repo, "delete-backup", "20200101T000000ZF", env=ENV)
    assert missing.returncode == 82 and "no backup" in missing.stderr
    assert "Traceback" not in missing.stderr
