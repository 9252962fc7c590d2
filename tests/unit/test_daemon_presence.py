"""`pgdr status` tells whether a daemon runs for the state directory (its lock line + pid)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.daemon.presence import LOCK_NAME, lock_line, parse_lock_line, presence

pytestmark = pytest.mark.unit
STARTED = datetime(2026, 12, 7, 0, 30, 5, 123, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (lock_line(4242, STARTED), (4242, "2026-12-07T00:30:05+00:00")),
        ("pid 4242\n", (4242, None)),  # written by an older pgdr
        ("", (None, None)),  # stopped in order
        ("garbage", (None, None)),
    ],
)
def test_lock_line(text: str, parsed: tuple[int | None, str | None]) -> None:
    assert parse_lock_line(text) == parsed


def test_running_stopped_killed_and_never_started(tmp_path: Path) -> None:
    got = presence(tmp_path / "none")
    assert got["running"] is False and "no daemon has used" in got["detail"]
    (tmp_path / LOCK_NAME).write_text(lock_line(4242, STARTED))
    got = presence(tmp_path, alive=lambda pid: pid == 4242, ours=lambda pid: True)
    assert got["running"] is True and got["pid"] == 4242
    assert got["detail"].startswith("running, pid 4242, since 2026-12-07T00:30:05+00:00")
    got = presence(tmp_path, alive=lambda pid: False, ours=lambda pid: True)
    assert got["running"] is False and "pid 4242 gone" in got["detail"]
    got = presence(tmp_path, alive=lambda pid: True, ours=lambda pid: False)  # pid reused
    assert got["running"] is False
    (tmp_path / LOCK_NAME).write_text("")
    assert presence(tmp_path)["running"] is False
