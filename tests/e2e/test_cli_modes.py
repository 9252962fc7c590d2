"""Under umask 022, what the CLI writes into a file:// repository and the state directory
is owner-only: init, a synchronous and an asynchronous wal-push, an audit check."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pgdr.pg.wal_header import fake_segment
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e

SEGMENT = "000000010000000000000001"


def loose(root: Path) -> list[str]:
    return [
        f"{oct(p.lstat().st_mode & 0o777)} {p}"
        for p in [root, *root.rglob("*")]
        if p.lstat().st_mode & 0o077
    ]


def test_repository_and_state_owner_only_under_umask_022(tmp_path: Path) -> None:
    repo, state, spool = tmp_path / "repo" / "main", tmp_path / "state", tmp_path / "spool"
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{repo}"\npassphrase = "env:PP"\n'
        "\n[audit]\nwal_summary_s = 0\n"  # an audit entry (and local state) per push
    )
    env = {"PP": "a passphrase", "PGDR_STATE_DIR": str(state)}
    wal = tmp_path / "pg_wal"
    wal.mkdir()
    for name in (SEGMENT, "000000010000000000000002"):
        (wal / name).write_bytes(fake_segment(name, 7312345678901234567, 16 << 20))

    def run(*args: str | Path) -> None:
        r = pgdr("--config", cfg, *args, env=env, umask=0o022)
        assert r.returncode == 0, r.stderr

    run("repo", "init")
    run("wal-push", wal / SEGMENT)
    run("wal-push", "--async", "--spool", spool, wal / "000000010000000000000002")
    deadline = time.monotonic() + 30
    while not (spool / "acked" / "000000010000000000000002").exists():
        assert time.monotonic() < deadline, "the uploader did not ship the spooled segment"
        time.sleep(0.1)
    run("audit", "--verify")
    assert (repo / "config").exists() and list((repo / "keys").iterdir())
    assert len(list((repo / "wal").glob("*/0*"))) == 2
    assert list((state / "audit").iterdir()) and list((state / "wal-ingest").iterdir())
    assert loose(tmp_path / "repo") == []
    assert loose(state) == []
    assert loose(spool) == []
