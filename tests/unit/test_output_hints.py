"""What pgdr prints for a person to act on: restore's start/stop commands as the caller can
run them, check's table with a heading for every column."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from pgdr.pg.osuser import resolve_runas
from pgdr.restore.hints import pg_ctl_command
from pgdr.restore.result import RestoreResult
from pgdr.wal.setup import Check, CheckResult


def _text(obj: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    obj.render_text(console)  # type: ignore[attr-defined]
    return console.export_text()


@pytest.mark.parametrize(
    ("owner", "caller", "expected"),
    [
        ("postgres", "postgres", "pg_ctl -D /d start"),
        (None, "root", "pg_ctl -D /d start"),
        ("postgres", "root", "runuser -u postgres -- pg_ctl -D /d start"),
        ("pgsql", "alice", "sudo -u pgsql pg_ctl -D /d start"),
    ],
)
def test_pg_ctl_command(owner: str | None, caller: str, expected: str) -> None:
    assert pg_ctl_command("/d", "start", owner, caller).endswith(expected)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the directory over")
def test_restore_hints_name_the_owner_when_run_as_root(tmp_path: Path) -> None:
    data = tmp_path / "restored"
    data.mkdir()
    owner = resolve_runas()
    shutil.chown(data, owner.uid, owner.gid)
    text = _text(RestoreResult("B", str(data), "latest", 1, 1))
    assert f"runuser -u {owner.name} -- " in text and f"-D {data} start" in text, text
    running = _text(RestoreResult("B", str(data), "latest", 1, 1, port=5999, in_recovery=False))
    assert "server running on port 5999" in running
    assert f"stop it with: runuser -u {owner.name} -- " in running and f"{data} stop" in running


def test_check_table_has_a_heading_for_every_column() -> None:
    res = CheckResult([Check("archive_mode", True, True, "on"), Check("disk", False, False, "x")])
    header = _text(res).splitlines()[1]
    assert header.split("┃")[1:-1] and all(h.strip() for h in header.split("┃")[1:-1]), header
    assert "severity" in header
