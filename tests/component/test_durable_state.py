"""Local state pgdr writes is durable when the write returns (pgdr.localfs.atomic_write):
the new file is fsynced before its rename and the directory after it, for every writer —
alert state, drill markers, replica markers, spool errors — not only for some."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.daemon.alert_delivery import AlertBook
from pgdr.daemon.alert_rules import Condition
from pgdr.drill.state import Marker, write_marker
from pgdr.replicate.follow import _mark_down
from pgdr.wal.spool import record_error

pytestmark = pytest.mark.component


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Paths of everything os.fsync is called on (the kernel call still happens)."""
    seen: list[Path] = []
    real = os.fsync

    def record(fd: int) -> None:
        seen.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    yield seen


def _alerts(state: Path) -> Path:
    book = AlertBook(state / "alerts.json", None)
    book.update([Condition("backup_stale", True, "old")], datetime.now(UTC), 0)
    return state / "alerts.json"


def _drill_marker(state: Path) -> Path:
    now = datetime.now(UTC).isoformat()
    return write_marker(state, Marker("d1", os.getpid(), "1", "/b", "/b/data", 5432, now))


def _replica_marker(state: Path) -> Path:
    marker = state / "replica-down" / "x.json"
    _mark_down(marker, "unreachable")
    return marker


def _spool_error(state: Path) -> Path:
    record_error(state, "repository unreachable")
    return state / "error"


@pytest.mark.parametrize(
    "write",
    [_alerts, _drill_marker, _replica_marker, _spool_error],
    ids=["alert-state", "drill-marker", "replica-marker", "spool-error"],
)
def test_state_write_is_durable(
    write: Callable[[Path], Path], tmp_path: Path, fsynced: list[Path]
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    path = write(state).resolve()
    assert path.exists()
    files = [p for p in fsynced if p.parent == path.parent and p != path.parent]
    assert files, f"{path.name} was renamed into place without an fsync of its content"
    assert path.parent in fsynced, f"the rename of {path.name} was not made durable"
