"""Bad input gets one line naming the cause and a distinct exit code, no traceback, and
nothing written."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import one_line_error, pgdr, snapshot
from tests.fixtures.moto_server import _free_port

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


@pytest.fixture
def repo_url(tmp_path: Path) -> str:
    url = f"file://{tmp_path}/repo"
    r = pgdr("--repo", url, "repo", "init", env=PASS)
    assert r.returncode == 0, r.stderr
    r = pgdr("--repo", url, "dev", "store", Path(__file__).parent, "--name", "tests", env=PASS)
    assert r.returncode == 0, r.stderr
    return url


def test_wrong_passphrase(repo_url: str, tmp_path: Path) -> None:
    before = snapshot(tmp_path / "repo")
    r = pgdr(
        "--repo", repo_url, "dev", "store", __file__, "--name", "x", env={"PGDR_PASSPHRASE": "nope"}
    )
    one_line_error(r, 41, "wrong passphrase")
    assert snapshot(tmp_path / "repo") == before


def test_missing_key(repo_url: str, tmp_path: Path) -> None:
    before = snapshot(tmp_path / "repo")
    one_line_error(pgdr("--repo", repo_url, "repo", "info"), 42, "encrypted", "passphrase")
    one_line_error(
        pgdr("--repo", repo_url, "repo", "info", env={"PGDR_KEY_FILE": str(tmp_path / "gone.key")}),
        42,
        "gone.key",
    )
    assert snapshot(tmp_path / "repo") == before


def test_not_a_repository_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "not-here"
    one_line_error(
        pgdr("--repo", f"file://{target}", "repo", "info", env=PASS), 31, str(target), "repo init"
    )
    assert not target.exists()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("not a repository")
    one_line_error(pgdr("--repo", f"file://{tmp_path}/junk", "repo", "verify", env=PASS), 31)
    assert snapshot(tmp_path / "junk") == {"file.txt": 16}


def test_newer_format_version(repo_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "repo" / "config"
    raw = cfg.read_bytes()
    (n,) = struct.unpack_from("<I", raw, 28)
    doc = json.loads(raw[32 : 32 + n])
    doc["format_version"] = 7
    body = json.dumps(doc).encode()
    cfg.write_bytes(raw[:28] + struct.pack("<I", len(body)) + body + raw[32 + n :])
    before = snapshot(tmp_path / "repo")
    one_line_error(pgdr("--repo", repo_url, "repo", "info", env=PASS), 33, "newer", "upgrade pgdr")
    assert snapshot(tmp_path / "repo") == before


def test_unreachable_s3_endpoint() -> None:
    url = f"s3://bucket/x?endpoint=http://127.0.0.1:{_free_port()}&region=us-east-1&path_style=true"
    r = pgdr("--repo", url, "repo", "init", env=PASS, timeout=90)
    one_line_error(r, 21, "cannot reach")


def test_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    immutable = (
        shutil.which("chattr") is not None
        and subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode == 0
    )
    if not immutable:
        locked.chmod(0o555)  # enough when not running as root
    try:
        r = pgdr("--repo", f"file://{locked}/repo", "repo", "init", env=PASS)
        one_line_error(r, 22, "permission denied", str(locked))
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        locked.chmod(0o755)
    assert snapshot(locked) == {}


def test_repository_exists(repo_url: str) -> None:
    one_line_error(pgdr("--repo", repo_url, "repo", "init", env=PASS), 32, "already")


def test_unencrypted_needs_the_flag(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/plain"
    one_line_error(pgdr("--repo", url, "repo", "init"), 42, "--unencrypted")
    assert not (tmp_path / "plain").exists()
    assert pgdr("--repo", url, "repo", "init", "--unencrypted").returncode == 0
    one_line_error(pgdr("--repo", url, "repo", "info"), 2, "unencrypted")
    assert pgdr("--repo", url, "repo", "info", "--unencrypted").returncode == 0


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    one_line_error(pgdr("repo", "frobnicate"), 2, "frobnicate")
    one_line_error(pgdr("repo", "info", "--no-such-option"), 2, "--no-such-option")
    one_line_error(pgdr("--repo", "ftp://x", "repo", "info"), 2, "ftp://x")
    bad = pgdr("restore", "--data-dir", str(tmp_path / "d"), "--archive-mode", "maybe")
    one_line_error(bad, 2, "--archive-mode")
    assert not (tmp_path / "d").exists()


def test_json_error_document(tmp_path: Path) -> None:
    r = pgdr("--json", "--repo", f"file://{tmp_path}/none", "repo", "info", env=PASS)
    assert r.returncode == 31
    assert json.loads(r.stdout)["error"]["kind"] == "not-a-repository"


def test_version_option_and_command() -> None:
    from pgdr import __version__

    for args in (["--version"], ["version"]):
        r = pgdr(*args)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"pgdr {__version__}"), r.stdout
