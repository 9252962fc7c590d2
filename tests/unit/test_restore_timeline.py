"""Which timeline a restore follows: PostgreSQL's ``latest`` resolved to the newest timeline
the chosen backup can actually reach (an abandoned branch is never followed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.catalog.manifest import BackupManifest
from pgdr.pg.timeline import TimelineSwitch
from pgdr.pg.wal import format_lsn
from pgdr.restore.plan import Target, choose_timeline
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

G = 1 << 30  # LSN 0/40000000


def backup(tli: int, start: int) -> BackupManifest:
    return manifest(timeline=tli, start_lsn=format_lsn(start))


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


SEG = 16 << 20


def seg(tli: int, segno: int) -> str:
    return f"{tli:08X}{0:08X}{segno:08X}"


def wal_backup(tli: int = 1, first: int = 2, last: int = 3) -> BackupManifest:
    return manifest(
        id="B",
        timeline=tli,
        wal_segment_size=SEG,
        start_lsn=format_lsn(first * SEG + 40),
        wal=[seg(tli, n) for n in range(first, last + 1)],
    )


def archive(*runs: tuple[int, range]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for tli, segnos in runs:
        out.setdefault(tli, []).extend(seg(tli, n) for n in segnos)
    return out


# Timeline 2 branched from timeline 1 at segment 6 (LSN 6.5 segments); timeline 3 from 2 at 9.
H2 = [sw(1, 6 * SEG + SEG // 2)]
H3 = [*H2, sw(2, 9 * SEG + 100)]

CHECK_WAL_CASES = [
    # (case, archived, timeline, histories, expected files or the missing one)
    (
        "one timeline, continuous",
        archive((1, range(2, 9))),
        "1",
        {},
        [seg(1, n) for n in range(2, 9)],
    ),
    (
        "one timeline, a hole",
        archive((1, range(2, 5)), (1, range(6, 9))),
        "1",
        {},
        "missing " + seg(1, 5),
    ),
    (
        "follows timeline 2 from its first segment",
        archive((1, range(2, 12)), (2, range(6, 9))),
        "2",
        {2: H2},
        [seg(1, n) for n in range(2, 6)] + [seg(2, n) for n in range(6, 9)],
    ),
    (
        "a hole on timeline 2 after the switch",
        archive((1, range(2, 12)), (2, [6, 7, 9, 10])),
        "2",
        {2: H2},
        "missing " + seg(2, 8),
    ),
    (
        "timeline 1's segments after the fork are not the path",
        archive((1, range(2, 7)), (1, [8]), (2, range(6, 8))),
        "2",
        {2: H2},
        [seg(1, n) for n in range(2, 6)] + [seg(2, 6), seg(2, 7)],
    ),
    (
        "timeline 2 with only its history: ends where timeline 1 leaves the path",
        archive((1, range(2, 12))),
        "2",
        {2: H2},
        [seg(1, n) for n in range(2, 6)],
    ),
    (
        "three timelines, a hole on the middle one",
        archive((1, range(2, 7)), (2, [6, 8, 9]), (3, range(9, 12))),
        "3",
        {2: H2, 3: H3},
        "missing " + seg(2, 7),
    ),
    (
        "three timelines, continuous",
        archive((1, range(2, 7)), (2, range(6, 10)), (3, range(9, 12))),
        "3",
        {2: H2, 3: H3},
        [seg(1, n) for n in range(2, 6)]
        + [seg(2, n) for n in range(6, 9)]
        + [seg(3, n) for n in range(9, 12)],
    ),
    (
        "a timeline without its history file",
        archive((1, range(2, 9))),
        "2",
        {},
        "history file of timeline 2",
    ),
    (
        "the backup's own WAL missing",
        archive((1, [2, 4])),
        "1",
        {},
        "WAL " + seg(1, 3) + " needed by backup",
    ),
]


@pytest.mark.parametrize(
    ("case", "archived", "timeline", "histories", "expected"),
    CHECK_WAL_CASES,
    ids=[c[0] for c in CHECK_WAL_CASES],
)
def test_check_wal_follows_the_timeline_path(
    case: str,
    archived: dict[int, list[str]],
    timeline: str,
    histories: dict[int, list[TimelineSwitch]],
    expected: list[str] | str,
) -> None:
    from pgdr.errors import WalGap
    from pgdr.restore.plan import Target, check_wal

    if isinstance(expected, str):
        with pytest.raises(WalGap, match=expected.removeprefix("missing ")):
            check_wal(wal_backup(), archived, Target("latest"), timeline, histories)
    else:
        assert check_wal(wal_backup(), archived, Target("latest"), timeline, histories) == expected


def test_check_wal_lsn_target_ignores_a_hole_after_it() -> None:
    from pgdr.restore.plan import Target, check_wal

    archived = archive((1, range(2, 6)), (1, range(7, 9)))
    files = check_wal(wal_backup(), archived, Target("lsn", format_lsn(5 * SEG + 10)), "1", {})
    assert files == [seg(1, n) for n in range(2, 6)]


def test_restore_command_answers_timeline_1_history_in_the_shell(tmp_path: Path) -> None:
    """Timeline 1 has no history file; asking for it must not start Python (PostgreSQL asks
    when it promotes off timeline 1). Everything else still reaches pgdr."""
    import shlex
    import subprocess
    import sys

    from pgdr.restore.commands import default_restore_command

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


@pytest.mark.parametrize(
    ("timeline", "histories", "expected"),
    [
        ("1", {}, []),
        ("current", {2: [sw(1, G)]}, []),
        ("2", {2: [sw(1, G)]}, ["00000002.history"]),
        (
            "3",
            {2: [sw(1, G)], 3: [sw(1, G), sw(2, 2 * G)]},
            ["00000002.history", "00000003.history"],
        ),
        # timeline 3 branched off 1: timeline 2's history is not on its path
        ("3", {2: [sw(1, G)], 3: [sw(1, 2 * G)]}, ["00000003.history"]),
        (
            "12",
            {12: [sw(1, G), sw(11, 2 * G)], 11: [sw(1, G)]},
            ["0000000B.history", "0000000C.history"],
        ),
    ],
)
def test_history_files_of_the_path(
    timeline: str, histories: dict[int, list[TimelineSwitch]], expected: list[str]
) -> None:
    from pgdr.restore.plan import history_files

    assert history_files(timeline, histories) == expected


def test_hand_over_command_never_reaches_the_repository(tmp_path: Path) -> None:
    """A drill sandbox's restore_command takes only what the restore placed: anything else
    is "not archived" (exit 1), without running pgdr (it has no key to run it with)."""
    import subprocess

    from pgdr.restore.commands import hand_over_command

    cmd = hand_over_command()
    assert "pgdr" not in cmd.replace("pgdr_prefetch", "")

    def run(name: str) -> subprocess.CompletedProcess[str]:
        line = cmd.replace("%f", name).replace("%p", "pg_wal/RECOVERYXLOG")
        return subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True)

    (tmp_path / "pgdr_prefetch" / "prefetch").mkdir(parents=True)
    (tmp_path / "pg_wal").mkdir()
    assert run("00000001.history").returncode == 1
    assert run(SEGS[0]).returncode == 1  # not placed
    (tmp_path / "pgdr_prefetch" / "prefetch" / SEGS[0]).write_bytes(b"wal")
    assert run(SEGS[0]).returncode == 0
    assert (tmp_path / "pg_wal" / "RECOVERYXLOG").read_bytes() == b"wal"


@pytest.mark.parametrize(
    ("case", "archived", "target", "files", "missing", "in_backup"),
    [
        ("no hole", archive((1, range(2, 6))), Target("latest"), range(2, 6), None, False),
        ("a hole after the backup", archive((1, range(2, 5)), (1, range(6, 9))),
         Target("latest"), range(2, 5), 5, False),
        ("an lsn before the hole", archive((1, range(2, 5)), (1, range(6, 9))),
         Target("lsn", format_lsn(4 * SEG + 8)), range(2, 5), None, False),
        ("the backup's own WAL", archive((1, [2, 4, 5])), Target("latest"), [2], 3, True),
    ],
)  # fmt: skip
def test_wal_path_names_the_first_hole(
    case: str,
    archived: dict[int, list[str]],
    target: Target,
    files: range | list[int],
    missing: int | None,
    in_backup: bool,
) -> None:
    from pgdr.restore.plan import wal_path

    path = wal_path(wal_backup(), archived, target, "1", {})
    assert path.files == [seg(1, n) for n in files]
    assert path.missing == (None if missing is None else seg(1, missing))
    assert path.missing_is_backups is in_backup
