"""Which timeline a restore follows: PostgreSQL's ``latest`` resolved to the newest timeline
the chosen backup can actually reach (an abandoned branch is never followed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.pg.timeline import TimelineSwitch
from pgdr.pg.wal import format_lsn
from pgdr.restore.plan import choose_timeline

pytestmark = pytest.mark.unit

G = 1 << 30  # LSN 0/40000000


def backup(tli: int, start: int) -> dict[str, object]:
    return {"timeline": tli, "start_lsn": format_lsn(start)}


def sw(parent: int, lsn: int) -> TimelineSwitch:
    return TimelineSwitch(parent, lsn, "no recovery target specified")


CASES = [
    # (backup timeline, backup start, histories, requested, expected)
    ("no other timeline", 1, 5 * G, {}, None, "1"),
    ("branch after the backup", 1, 5 * G, {2: [sw(1, 6 * G)]}, None, "2"),
    ("branch before the backup: abandoned", 1, 5 * G, {2: [sw(1, 4 * G)]}, None, "1"),
    ("branch exactly at the start is not a child", 1, 5 * G, {2: [sw(1, 5 * G)]}, None, "1"),
    ("grandchild", 1, 5 * G, {2: [sw(1, 6 * G)], 3: [sw(1, 6 * G), sw(2, 7 * G)]}, None, "3"),
    (
        "newest branched early, an older one after the backup",
        1,
        5 * G,
        {2: [sw(1, 6 * G)], 3: [sw(1, 2 * G)]},
        None,
        "2",
    ),
    ("backup on a later timeline", 2, 5 * G, {2: [sw(1, G)], 3: [sw(1, 2 * G)]}, None, "2"),
    ("explicit number", 1, 5 * G, {2: [sw(1, 4 * G)]}, "2", "2"),
    ("current", 1, 5 * G, {2: [sw(1, 6 * G)]}, "current", "current"),
    ("explicit latest", 1, 5 * G, {2: [sw(1, 6 * G)]}, "latest", "2"),
    ("unusable history is never followed", 1, 5 * G, {2: [sw(3, 6 * G)]}, None, "1"),
]


@pytest.mark.parametrize(("why", "tli", "start", "histories", "requested", "expected"), CASES)
def test_choose_timeline(
    why: str,
    tli: int,
    start: int,
    histories: dict[int, list[TimelineSwitch]],
    requested: str | None,
    expected: str,
) -> None:
    assert choose_timeline(backup(tli, start), histories, requested) == expected, why


SEGS = [f"0000000100000000000000{i:02X}" for i in range(0x10, 0x30)]

FIRST_WAL_CASES = [
    # (case, backup's wal, timeline followed, expected)
    ("short backup: the next ones up to the depth", SEGS[:2], "1", SEGS[:8]),
    ("long backup: all of its own range", SEGS[:12], "1", SEGS[:12]),
    ("another timeline: nothing", SEGS[:2], "2", []),
]


@pytest.mark.parametrize(
    ("case", "wal", "timeline", "expected"), FIRST_WAL_CASES, ids=[c[0] for c in FIRST_WAL_CASES]
)
def test_first_wal(case: str, wal: list[str], timeline: str, expected: list[str]) -> None:
    from pgdr.restore.plan import first_wal

    assert first_wal({"timeline": 1, "wal": wal}, SEGS, timeline) == expected


def test_first_wal_never_beyond_what_is_archived() -> None:
    from pgdr.restore.plan import first_wal

    assert first_wal({"timeline": 1, "wal": SEGS[:1]}, SEGS[:3], "1") == SEGS[:3]


def test_restore_command_answers_timeline_1_history_in_the_shell(tmp_path: Path) -> None:
    """Timeline 1 has no history file; asking for it must not start Python (PostgreSQL asks
    when it promotes off timeline 1). Everything else still reaches pgdr."""
    import shlex
    import subprocess
    import sys

    from pgdr.restore.run import default_restore_command

    cmd = default_restore_command(None, None).replace(shlex.quote(sys.executable), "echo pgdr")

    def run(name: str) -> subprocess.CompletedProcess[str]:
        line = cmd.replace("%f", name).replace("%p", "pg_wal/RECOVERYXLOG")
        return subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True)

    first = run("00000001.history")
    assert first.returncode == 1 and "pgdr" not in first.stdout
    other = run("00000002.history")
    assert "pgdr -m pgdr wal-fetch" in other.stdout
    (tmp_path / "pgdr_prefetch" / "prefetch").mkdir(parents=True)
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pgdr_prefetch" / "prefetch" / SEGS[0]).write_bytes(b"wal")
    handed = run(SEGS[0])
    assert handed.returncode == 0 and handed.stdout == ""
    assert (tmp_path / "pg_wal" / "RECOVERYXLOG").read_bytes() == b"wal"
