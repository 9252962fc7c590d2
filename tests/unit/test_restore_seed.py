"""What a restore places for its restore_command, and how the command's shell answers:
placed files are handed over, names the restore knows are not archived are answered "not
archived", and only names nobody can be sure of reach pgdr (``pgdr.restore.seed``)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.seed import histories_above, known_absent, wal_to_place
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

SEGS = [f"0000000100000000000000{i:02X}" for i in range(0x10, 0x30)]
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
#: each segment stored a minute after the previous one
STORED: dict[str, datetime | None] = {n: T0 + timedelta(minutes=i) for i, n in enumerate(SEGS)}


@pytest.mark.parametrize(
    ("case", "target", "bound", "expected"),
    [
        ("latest: all of it", Target("latest"), 1 << 30, SEGS),
        ("within the bound", Target("latest"), 5 * (16 << 20), SEGS[:5]),
        ("the backup's own range even above the bound", Target("latest"), 1, SEGS[:2]),
        # stored at T0+10min+ > target + 60 s skew: SEGS[10] holds the target; one more
        ("time: up to the segment stored after it", Target("time", "2026-12-01T03:08:30Z"),
         1 << 30, SEGS[:12]),
        ("time after the archive's end: all", Target("time", "2026-12-01T05:00:00Z"), 1 << 30,
         SEGS),
        ("lsn: as check_wal cut it", Target("lsn", "0/15000000"), 1 << 30, SEGS),
    ],
)  # fmt: skip
def test_wal_to_place(case: str, target: Target, bound: int, expected: list[str]) -> None:
    backup = manifest(wal=SEGS[:2])
    assert wal_to_place(backup, SEGS, target, STORED, bound) == expected, case


def hist(*tlis: int) -> dict[int, list[str]]:
    return {t: [f"{t:08X}.history"] for t in tlis}


@pytest.mark.parametrize(
    ("timeline", "archived", "above", "nxt"),
    [
        ("1", {1: SEGS}, [], 2),
        ("1", {1: SEGS, **hist(2, 3)}, ["00000002.history", "00000003.history"], 4),
        ("2", hist(2, 4), [], 3),  # a gap is the timeline a promotion takes
        ("current", hist(2), [], 0),
    ],
)
def test_histories_above(
    timeline: str, archived: dict[int, list[str]], above: list[str], nxt: int
) -> None:
    assert histories_above(timeline, archived) == (above, nxt)


@pytest.mark.parametrize(
    ("case", "target", "action", "expected"),
    [
        ("a past point, promoted", Target("time", "2026-12-01T03:08:30Z"), "promote",
         ["00000003.history"]),
        ("lsn", Target("lsn", "0/15000000"), "promote", ["00000003.history"]),
        ("latest: production may still switch timeline", Target("latest"), "promote", []),
        ("paused: promoted who knows when", Target("xid", "700"), "pause", []),
        ("shut down", Target("xid", "700"), "shutdown", []),
    ],
)  # fmt: skip
def test_known_absent(case: str, target: Target, action: str, expected: list[str]) -> None:
    assert known_absent("2", {1: SEGS, **hist(2)}, target, action) == expected, case


def shell(tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    cmd = default_restore_command(None, None).replace(shlex.quote(sys.executable), "echo pgdr")
    line = cmd.replace("%f", name).replace("%p", "pg_wal/RECOVERYXLOG")
    return subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True)


def test_restore_command_answers_what_the_restore_knows(tmp_path: Path) -> None:
    spool = tmp_path / "pgdr_prefetch"
    for d in ("prefetch", "absent", "served"):
        (spool / d).mkdir(parents=True)
    (tmp_path / "pg_wal").mkdir()
    (spool / "prefetch" / SEGS[0]).write_bytes(b"wal")
    (spool / "absent" / "00000003.history").touch()

    handed = shell(tmp_path, SEGS[0])
    assert handed.returncode == 0 and handed.stdout == ""
    assert (tmp_path / "pg_wal" / "RECOVERYXLOG").read_bytes() == b"wal"
    # asked again (recovery re-reads its last segment at the end): it is in pg_wal now
    again = shell(tmp_path, SEGS[0])
    assert again.returncode == 1 and again.stdout == ""
    # a history file is read again and again (never kept in pg_wal): handed over each time
    (spool / "prefetch" / "00000002.history").write_bytes(b"1\t0/3000000\tno target\n")
    for _ in range(2):
        assert shell(tmp_path, "00000002.history").returncode == 0
        assert (tmp_path / "pg_wal" / "RECOVERYXLOG").read_bytes().startswith(b"1\t")
    absent = shell(tmp_path, "00000003.history")
    assert absent.returncode == 1 and absent.stdout == ""
    # the segment after the archive's end: production may have archived it since
    assert "pgdr -m pgdr wal-fetch" in shell(tmp_path, SEGS[1]).stdout
    assert "pgdr -m pgdr wal-fetch" in shell(tmp_path, "00000004.history").stdout


def test_handing_over_never_fails_on_the_marker(tmp_path: Path) -> None:
    """A spool without the served/ directory (a restore of an older pgdr): the file handed
    over is still reported as given (exit 0), or recovery would end before it."""
    (tmp_path / "pgdr_prefetch" / "prefetch").mkdir(parents=True)
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pgdr_prefetch" / "prefetch" / SEGS[0]).write_bytes(b"wal")
    handed = shell(tmp_path, SEGS[0])
    assert handed.returncode == 0, handed.stderr
    assert (tmp_path / "pg_wal" / "RECOVERYXLOG").read_bytes() == b"wal"


def test_hand_over_command_gives_a_history_file_every_time_it_is_asked(tmp_path: Path) -> None:
    """PostgreSQL reads the target timeline's history at least twice (whether it exists, then
    its content); a drill sandbox on timeline 2 lost its parent timeline when the first ask
    took the file away ("could not locate required checkpoint record")."""
    from pgdr.restore.commands import hand_over_command

    (tmp_path / "pgdr_prefetch" / "prefetch").mkdir(parents=True)
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pgdr_prefetch" / "prefetch" / "00000002.history").write_text("1\t0/3000000\tx\n")
    line = hand_over_command().replace("%f", "00000002.history")
    line = line.replace("%p", "pg_wal/RECOVERYHISTORY")
    for _ in range(2):
        r = subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "pg_wal" / "RECOVERYHISTORY").read_text().startswith("1\t")
