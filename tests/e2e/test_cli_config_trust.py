"""Config lookup as root (these tests run as root): a `./pgdr.toml` another user owns or
others can write is refused loudly, naming the file and how to pass it, never used and
never silently skipped for the next candidate."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e

CONFIG = '[repositories.main]\nurl = "file:///nonexistent/evil"\n'


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = tmp_path / "shared"
    d.mkdir()
    (d / "pgdr.toml").write_text(CONFIG)
    return d


def refused(r: subprocess.CompletedProcess[str], cfg: Path, why: str) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "Traceback" not in out and len(r.stderr.strip().splitlines()) == 1, out
    assert f"refusing config file {cfg}" in r.stderr and why in r.stderr, r.stderr


def test_foreign_owned_cwd_config_refused_as_root(shared: Path) -> None:
    cfg = shared / "pgdr.toml"
    nobody = pwd.getpwnam("nobody")
    os.chown(cfg, nobody.pw_uid, nobody.pw_gid)
    for args in (("config", "path"), ("config", "show"), ("info",)):
        refused(pgdr(*args, cwd=shared), Path("pgdr.toml"), "owned by nobody")
    r = pgdr("config", "path", cwd=shared)
    assert f"--config {cfg}" in r.stderr
    # named explicitly, the operator's choice is honoured
    r = pgdr("--json", "--config", cfg, "config", "path", cwd=shared)
    assert r.returncode == 0 and json.loads(r.stdout)["path"] == str(cfg)


@pytest.mark.parametrize("mode", [0o664, 0o666])
def test_group_or_world_writable_cwd_config_refused_as_root(shared: Path, mode: int) -> None:
    os.chmod(shared / "pgdr.toml", mode)
    why = "writable by its group" if mode == 0o664 else "writable by every user"
    refused(pgdr("config", "show", cwd=shared), Path("pgdr.toml"), why)


def test_world_writable_explicit_config_refused(shared: Path) -> None:
    cfg = shared / "pgdr.toml"
    os.chmod(cfg, 0o666)
    refused(pgdr("--config", cfg, "config", "show"), cfg, "writable by every user")
    refused(pgdr("config", "show", env={"PGDR_CONFIG": str(cfg)}), cfg, "writable by every user")


def test_directory_others_can_write_refused(shared: Path) -> None:
    os.chmod(shared, 0o777)  # anyone could swap pgdr.toml for their own
    refused(pgdr("config", "path", cwd=shared), Path("pgdr.toml"), "directory is writable")
    os.chmod(shared, 0o1777)  # sticky, like /tmp: only root may replace root's file
    assert pgdr("config", "path", cwd=shared).returncode == 0
