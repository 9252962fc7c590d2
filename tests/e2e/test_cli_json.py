"""`--json` and `--output json` after the command name as well as before it (every read
command: tests/component/test_cli_output_json.py); `--help` of the lean WAL commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import one_line_error, pgdr

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


@pytest.fixture(scope="module")
def repo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"file://{tmp_path_factory.mktemp('json')}/repo"
    r = pgdr("--repo", url, "repo", "init", env=PASS)
    assert r.returncode == 0, r.stderr
    return url


def test_json_after_the_command_is_json_before_it(repo_url: str) -> None:
    before = pgdr("--repo", repo_url, "--json", "info", env=PASS)
    after = pgdr("--repo", repo_url, "info", "--json", env=PASS)
    spelled = pgdr("--repo", repo_url, "info", "--output", "json", env=PASS)
    assert before.returncode == after.returncode == spelled.returncode == 0, after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout) == json.loads(spelled.stdout)


def test_two_formats_are_a_usage_error(repo_url: str) -> None:
    r = pgdr("--repo", repo_url, "info", "--output", "text", "--json", env=PASS)
    one_line_error(r, 2, "--json conflicts with --output text")
    r = pgdr("--repo", repo_url, "--output", "text", "repo", "info", "--output=json", env=PASS)
    one_line_error(r, 2, "conflicts")


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("wal-push", "pgdr wal-push [--async --spool DIR] PATH"),
        ("wal-fetch", "pgdr wal-fetch [--prefetch N --spool DIR] NAME DEST"),
    ],
)
def test_wal_commands_have_help(command: str, usage: str, tmp_path: Path) -> None:
    r = pgdr(command, "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert usage in r.stdout
    assert "wal-uploader" not in r.stdout and "wal-prefetcher" not in r.stdout
    for option in ("--spool", "--async" if command == "wal-push" else "--prefetch"):
        assert option in r.stdout
