"""`pgdr backup` and `pgdr restore` unlock a passphrase repository before the CLI's imports
(pgdr.cli.early_open): what the operator sees stays as it was — the same errors and exit
codes, and the repository identity still checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import one_line_error, pgdr

pytestmark = pytest.mark.e2e
EARLY = "repository: opened before the CLI's imports"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path}/repo"\npassphrase = "env:PGDR_PASSPHRASE"\n'
    )
    assert pgdr("--config", cfg, "repo", "init", env={"PGDR_PASSPHRASE": "right"}).returncode == 0
    return cfg


def test_restore_unlocks_early_and_reports_as_before(cfg: Path, tmp_path: Path) -> None:
    args = ("--config", cfg, "restore", "--data-dir", tmp_path / "d")
    r = pgdr("-vv", *args, env={"PGDR_PASSPHRASE": "right"})
    assert EARLY in r.stderr, r.stderr
    assert r.returncode == 2 and "the repository has no backups" in r.stderr, r.stderr
    one_line_error(pgdr(*args, env={"PGDR_PASSPHRASE": "wrong"}), 41, "wrong passphrase")
    one_line_error(pgdr(*args), 42, "PGDR_PASSPHRASE is not set")  # nothing to unlock early
    # the same command under another repository name opens nothing early
    r = pgdr("-vv", "--repo", "other", *args, env={"PGDR_PASSPHRASE": "right"})
    assert EARLY not in r.stderr and r.returncode != 0, r.stderr
    assert not (tmp_path / "d").exists()


def test_a_replaced_repository_is_still_refused(cfg: Path, tmp_path: Path) -> None:
    # another repository planted at the pinned URL (same passphrase, another master key)
    shutil.rmtree(tmp_path / "repo")
    Repository.init(open_backend(f"file://{tmp_path}/repo"), Passphrase("right", scrypt_n=1024))
    r = pgdr(
        "--config", cfg, "restore", "--data-dir", tmp_path / "d", env={"PGDR_PASSPHRASE": "right"}
    )
    one_line_error(r, 44, "pgdr repo trust")
