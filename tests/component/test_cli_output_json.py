"""`--output json` after the name of every read command prints one JSON document (run in
this process, against a file repository, for speed; the subprocess path is in
tests/e2e/test_cli_json.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgdr.cli.main import run

pytestmark = pytest.mark.component

READ_COMMANDS = [
    ["info"],
    ["repo", "info"],
    ["repo", "verify"],
    ["drill", "history"],
    ["status"],  # exits 92 here (no PostgreSQL: alerts fire), the report on stdout
    ["key", "list"],
    ["expire", "--dry-run"],
    ["repo", "gc", "--dry-run"],
    ["config", "show"],
    ["config", "check"],
    ["config", "path"],
    ["audit"],
    ["exit-codes"],
]


def pgdr_here(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        run(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_output_json_on_each_read_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PGDR_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("PGDR_KDF_N", "1024")
    monkeypatch.setenv("PGDR_REPO", f"file://{tmp_path}/repo")
    monkeypatch.chdir(tmp_path)
    rc, _out, err = pgdr_here(capsys, "repo", "init")
    assert rc == 0, err
    for command in READ_COMMANDS:
        rc, out, err = pgdr_here(capsys, *command, "--output", "json")
        assert rc in ((0, 91, 92) if command == ["status"] else (0,)), (command, err)
        assert "Traceback" not in err, command
        json.loads(out)  # one JSON document, nothing else


def test_a_failing_read_command_keeps_stdout_one_json_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PGDR_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("PGDR_KDF_N", "1024")
    monkeypatch.setenv("PGDR_REPO", f"file://{tmp_path}/repo")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("some data\n" * 100)
    assert pgdr_here(capsys, "repo", "init")[0] == 0
    assert pgdr_here(capsys, "dev", "store", str(tmp_path / "files"), "--name", "f")[0] == 0
    for pack in (tmp_path / "repo" / "data").rglob("*"):
        if pack.is_file():
            pack.unlink()  # damage: verify exits 36 naming the missing pack
    rc, out, err = pgdr_here(capsys, "repo", "verify", "--json")
    assert rc == 36 and "verify found damage" in err, (rc, err)
    assert json.loads(out)["ok"] is False  # the result only, no error document after it
