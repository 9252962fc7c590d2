"""Leftovers of killed runs, as an operator sees them: locks whose holder is gone (a killed
backup on this host, an expired lock of another host) are shown as stale by `repo info`
and removed by `repo gc`; a killed wal-push's `.tmp-*` file is a warning in `repo verify`
and removed by `repo gc` once old. Live locks and fresh temporary files stay."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.locks import LockManager
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e


def test_stale_locks_and_temp_files_are_shown_and_cleaned(tmp_path: Path) -> None:
    key = tmp_path / "repo.key"
    generate_key_file(key)
    root = tmp_path / "repo"
    url = f"file://{root}"
    backend = Repository.init(open_backend(url), KeyFile(key)).backend
    env = {"PGDR_KEY_FILE": str(key)}

    gone = subprocess.Popen(["true"])
    gone.wait()  # a backup killed on this host: its pid is gone
    killed = LockManager(backend, pid=gone.pid).acquire("shared", "backup", auto_refresh=False)
    hour_ago = time.time() - 3600  # another host's lock, never refreshed: expired
    remote = LockManager(backend, host="db2", clock=lambda: hour_ago).acquire(
        "shared", "backup", auto_refresh=False
    )
    live = LockManager(backend).acquire("shared", "backup", auto_refresh=False)  # this test
    wal = root / "wal" / "00000001"
    wal.mkdir(parents=True)
    old = wal / ".tmp-000000010000000000000003.4242.deadbeef"  # a killed wal-push
    old.write_bytes(b"\0" * 4096)
    os.utime(old, (hour_ago, hour_ago))
    fresh = wal / ".tmp-000000010000000000000004.4243.cafecafe"  # a push in progress
    fresh.write_bytes(b"\0" * 4096)

    info = json.loads(pgdr("--repo", url, "--json", "repo", "info", env=env).stdout)
    stale = {lk["id"]: lk["reason"] for lk in info["lock_list"] if lk["stale"]}
    assert set(stale) == {killed.id, remote.id} and info["locks"] == 3
    assert f"process {gone.pid} on this host is gone" in stale[killed.id]
    assert stale[remote.id] == "expired"
    text = pgdr("--repo", url, "repo", "info", env=env).stdout
    assert "2 stale" in text and "pgdr repo unlock" in text

    r = pgdr("--repo", url, "--json", "repo", "verify", env=env)
    assert r.returncode == 0, r.stderr  # leftovers are not damage ...
    warned = {w["object"] for w in json.loads(r.stdout)["warnings"]}
    assert f"wal/00000001/{old.name}" in warned  # ... but they are named
    assert f"locks/{killed.id}" in warned and f"wal/00000001/{fresh.name}" not in warned

    r = pgdr("--repo", url, "--json", "repo", "gc", env=env)
    assert r.returncode == 0, r.stderr
    gc = json.loads(r.stdout)["gc"]
    assert set(gc["stale_locks_removed"]) == {killed.id, remote.id}
    assert gc["temp_files_removed"] == [f"wal/00000001/{old.name}"]
    assert not old.exists() and fresh.exists()
    assert [lk.id for lk in LockManager(backend).list_locks()] == [live.id]
    live.release()
