"""Everything pgdr writes into its state directory (and WAL spools) is owner-only under the
usual umask 022: directories it creates 0700, files 0600."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.daemon.alert_delivery import AlertBook
from pgdr.daemon.alert_rules import Condition
from pgdr.daemon.history import JobHistory, JobRecord
from pgdr.daemon.service import _lock_state_dir
from pgdr.drill.state import Marker, write_marker
from pgdr.localfs import atomic_write, open_private, private_dir
from pgdr.replicate.follow import _mark_down
from pgdr.wal.prefetch_fill import prefetch_dir
from pgdr.wal.spool import _dirs, record_error, spool_file
from pgdr.web.auth import ensure_token

pytestmark = pytest.mark.component


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def loose(root: Path) -> list[str]:
    """Entries under root (and root) that a group or other user could read or enter."""
    out = []
    for p in [root, *root.rglob("*")]:
        if p.lstat().st_mode & 0o077:
            out.append(f"{oct(p.lstat().st_mode & 0o777)} {p.relative_to(root.parent)}")
    return out


def test_primitives(tmp_path: Path) -> None:
    d = private_dir(tmp_path / "a" / "b" / "c")
    atomic_write(d / "x.json", "{}")
    with open_private(d / "log", "a") as f:
        f.write("line\n")
    with open_private(d / "blob", "wb") as g:
        g.write(b"\0")
    assert loose(tmp_path / "a") == []
    assert (d / "x.json").read_text() == "{}" and not list(d.glob(".*tmp"))


def test_state_directory_is_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    lock = _lock_state_dir(state)  # the daemon: state dir and its lock
    try:
        history = JobHistory(state / "outbox")
        now = datetime.now(UTC).isoformat()
        history.add(JobRecord("j1", "verify", now, now, now, "success"), None)
        book = AlertBook(state / "alerts.json", None)
        book.update([Condition("backup_stale", True, "old")], datetime.now(UTC), 0)
        ensure_token(state / "web-token")
        write_marker(state, Marker("d1", os.getpid(), "1", "/b", "/b/data", 5432, now))
        _mark_down(state / "replica-down" / "x.json", "unreachable")
    finally:
        lock.close()
    names = {p.name for p in state.rglob("*")}
    assert {"daemon.lock", "outbox", "j1.json", "alerts.json", "web-token", "d1.json"} <= names
    assert loose(state) == []


def test_wal_spool_is_owner_only(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    queue, _acked = _dirs(spool)
    wal = tmp_path / "000000010000000000000001"
    wal.write_bytes(b"w" * 100)
    spool_file(wal, queue)
    record_error(spool, "repository unreachable")
    prefetch_dir(spool)
    assert loose(spool) == []
