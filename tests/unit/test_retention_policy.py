"""Golden cases of the retention policy (pgdr.retention.policy.decide), plus a randomized
check of its promise against restore planning's own choice of backup."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from pgdr.catalog.manifest import BackupManifest
from pgdr.pg.timeline import TimelineSwitch
from pgdr.pg.wal import DEFAULT_SEG_SIZE, backup_history_name, history_name, segment_name
from pgdr.restore.plan import Target, check_wal, choose_backup
from pgdr.retention.policy import BackupFacts, Policy, WalFile, decide, protection
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SEG = DEFAULT_SEG_SIZE


def ago(days: float = 0, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, seconds=seconds)


def lsn(seg: float) -> int:
    return int(seg * SEG)


def B(
    bid: str, stop: datetime, start_seg: float, tl: int = 1, needs: range | None = None
) -> BackupFacts:
    """``needs``: the segments of the backup's own WAL range (None: unknown, as older facts)."""
    return BackupFacts(
        bid,
        "full" if bid.startswith("F") else "incr",
        stop,
        lsn(start_seg),
        tl,
        wal=tuple(segment_name(tl, s) for s in needs or ()),
    )


def wal(tl: int, segs: range | list[int], at: datetime) -> list[WalFile]:
    return [WalFile(tl, segment_name(tl, s), at) for s in segs]


@dataclass
class Case:
    backups: list[BackupFacts]
    wal: list[WalFile]
    kept: set[str]
    #: Removed WAL as {timeline: segment numbers}; every other WAL file is kept.
    removed_wal: dict[int, set[int]] = field(default_factory=dict)
    policy: Policy = field(default_factory=lambda: Policy(timedelta(days=35)))
    histories: dict[int, list[TimelineSwitch]] = field(default_factory=dict)
    anchors: dict[int, str] | None = None
    warning: str | None = None


WS = ago(35)  # the window start of the default policy

CASES = {
    "young repository: nothing older than the window, nothing removed": Case(
        [B("F10", ago(10), 1), B("I3", ago(3), 8)],
        wal(1, range(1, 20), ago(1)),
        kept={"F10", "I3"},
    ),
    "no backups: WAL is never expired without a backup to expire against": Case(
        [], wal(1, range(1, 10), ago(90)), kept=set()
    ),
    # The anchor is an incremental and the full before it goes: no backup depends on another.
    "incremental anchors the window; the older full and incremental go": Case(
        [
            B("F50", ago(50), 1),
            B("I40", ago(40), 5),
            B("I36", ago(36), 9),
            B("F20", ago(20), 15),
            B("I1", ago(1), 30),
        ],
        wal(1, range(1, 36), ago(0.5)),
        kept={"I36", "F20", "I1"},
        removed_wal={1: set(range(1, 9))},
        anchors={1: "I36"},
    ),
    "window edge: a backup ending exactly at the window start is the anchor": Case(
        [B("I-older", WS - timedelta(hours=1), 3), B("I-edge", WS, 6), B("I-new", ago(1), 9)],
        wal(1, range(1, 12), ago(0.5)),
        kept={"I-edge", "I-new"},
        removed_wal={1: set(range(1, 6))},
        anchors={1: "I-edge"},
    ),
    "window edge: one second inside the window is not enough, the one before anchors": Case(
        [
            B("I-oldest", WS - timedelta(days=2), 1),
            B("I-before", WS - timedelta(seconds=1), 3),
            B("I-inside", WS + timedelta(seconds=1), 6),
        ],
        wal(1, range(1, 9), ago(0.5)),
        kept={"I-before", "I-inside"},
        removed_wal={1: {1, 2}},
        anchors={1: "I-before"},
    ),
    "keep_full holds the newest full past the window, and its WAL": Case(
        [B("F50", ago(50), 1), B("I40", ago(40), 5), B("I36", ago(36), 9), B("I1", ago(1), 20)],
        wal(1, range(1, 25), ago(0.5)),
        kept={"F50", "I36", "I1"},
        policy=Policy(timedelta(days=35), keep_full=1),
    ),
    "keep_incremental counts incrementals only": Case(
        [B("F50", ago(50), 1), B("I45", ago(45), 3), B("I40", ago(40), 5), B("I36", ago(36), 9)],
        wal(1, range(1, 12), ago(0.5)),
        kept={"I40", "I36"},
        removed_wal={1: set(range(1, 5))},
        policy=Policy(timedelta(days=35), keep_incremental=2),
    ),
    # tl2 branched 5 days ago at segment 20 (inside the window).
    "timelines: branch inside the window keeps the parent's WAL to the switch and the child's": Case(
        [B("F50", ago(50), 1), B("I40", ago(40), 10), B("I2", ago(2), 25, tl=2)],
        [
            *wal(1, range(1, 21), ago(5)),
            WalFile(1, segment_name(1, 20) + ".partial", ago(5)),
            *wal(2, range(20, 31), ago(1)),
            WalFile(2, history_name(2), ago(5)),
        ],
        kept={"I40", "I2"},
        removed_wal={1: set(range(1, 10))},
        histories={2: [TimelineSwitch(1, lsn(20.5), "before 2026-11-19")]},
        anchors={1: "I40", 2: "I40"},
    ),
    # Someone restored to a point 62 days back (branch at segment 5.5) and production went on
    # on tl2; tl1's later backups cannot reach tl2, so tl2's anchor is the older F60.
    "timelines: a branch older than the window keeps the backup that reaches it": Case(
        [
            B("F60", ago(60), 1),
            B("I45", ago(45), 10),
            B("I38", ago(38), 15),
            B("I10", ago(10), 25, tl=2),
        ],
        wal(1, range(1, 19), ago(38)) + wal(2, range(5, 31), ago(1)),
        kept={"F60", "I10"},
        histories={2: [TimelineSwitch(1, lsn(5.5), "restore to 62 days ago")]},
        anchors={2: "F60"},
    ),
    # A test restore 100 days ago made tl2 and was abandoned; production stayed on tl1.
    "timelines: an abandoned old timeline loses its WAL but keeps its history file": Case(
        [B("F50", ago(50), 1), B("I36", ago(36), 50), B("I1", ago(1), 60)],
        wal(1, range(1, 65), ago(0.5))
        + wal(2, range(3, 6), ago(99))
        + [WalFile(2, history_name(2), ago(99))],
        kept={"I36", "I1"},
        removed_wal={1: set(range(1, 50)), 2: {3, 4, 5}},
        histories={2: [TimelineSwitch(1, lsn(3.2), "test restore")]},
        anchors={1: "I36"},
    ),
    "WAL gaps: holes before the anchor vanish, holes after it stay and are reported": Case(
        [B("F50", ago(50), 1), B("I36", ago(36), 10)],
        [w for w in wal(1, range(1, 31), ago(0.5)) if w.name[-2:] not in ("05", "14")],
        kept={"I36"},
        removed_wal={1: {1, 2, 3, 4, 6, 7, 8, 9}},
        warning=f"WAL {segment_name(1, 0x14)} is missing",
    ),
    "backup history files go with their segment": Case(
        [B("F50", ago(50), 1), B("I36", ago(36), 9)],
        [
            *wal(1, range(1, 12), ago(0.5)),
            WalFile(1, backup_history_name(1, lsn(1.1)), ago(50)),
            WalFile(1, backup_history_name(1, lsn(9.1)), ago(36)),
        ],
        kept={"I36"},
        removed_wal={1: set(range(1, 9))},
    ),
    # Issue 12 item 0: no timeline is live (no backup ended and no WAL was archived inside
    # the window), which once expired every backup and all WAL.
    "idle cluster: quiet for longer than the window, the last backup and its WAL stay": Case(
        [B("F60", ago(60), 1, needs=range(1, 2)), B("F45", ago(45), 5, needs=range(5, 6))],
        wal(1, range(1, 9), ago(44)),
        kept={"F45"},
        removed_wal={1: {1, 2, 3, 4}},
    ),
    "idle cluster under a short window: one backup, seconds of quiet": Case(
        [B("F", NOW - timedelta(seconds=30), 3, needs=range(3, 4))],
        wal(1, range(1, 5), NOW - timedelta(seconds=31)),
        kept={"F"},
        removed_wal={1: {1, 2}},
        policy=Policy(timedelta(seconds=20)),
    ),
    # Archiving broke 46 days ago: the last backup's WAL never arrived. It stays (its WAL may
    # still come from pg_wal), and so does the newest backup that restores today.
    "broken archiving: the newest restorable backup and the newest backup both stay": Case(
        [
            B("F60", ago(60), 1, needs=range(1, 2)),
            B("F50", ago(50), 5, needs=range(5, 6)),
            B("I40", ago(40), 9, needs=range(9, 11)),
        ],
        wal(1, range(1, 9), ago(46)),
        kept={"F50", "I40"},
        removed_wal={1: {1, 2, 3, 4}},
    ),
    "no backup restorable: the newest stays, with a warning": Case(
        [B("F60", ago(60), 1, needs=range(1, 3)), B("F50", ago(50), 5, needs=range(5, 7))],
        wal(1, [2, 3, 4, 6], ago(49)),
        kept={"F50"},
        removed_wal={1: {2, 3, 4}},
        warning="no backup is restorable",
    ),
    # Production went on on tl2 and went quiet; an older abandoned branch tl3 is quieter still.
    "idle after a failover: the current timeline's newest backup stays": Case(
        [B("F70", ago(70), 1, needs=range(1, 2)), B("I50", ago(50), 12, tl=2, needs=range(12, 13))],
        wal(1, range(1, 11), ago(65))
        + wal(2, range(10, 15), ago(48))
        + [WalFile(2, history_name(2), ago(66))],
        kept={"I50"},
        removed_wal={1: set(range(1, 11)), 2: {10, 11}},
        histories={2: [TimelineSwitch(1, lsn(10.5), "failover")]},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_golden(name: str) -> None:
    case = CASES[name]
    d = decide(case.backups, case.wal, case.histories, NOW, case.policy)
    assert {v.name for v in d.backups if v.keep} == case.kept
    assert all(v.reason for v in d.backups + d.wal)
    removed: dict[int, set[int]] = {}
    for v in d.removed_wal:
        removed.setdefault(v.timeline, set()).add(int(v.name[16:24], 16))
    assert removed == case.removed_wal
    assert all(v.keep for v in d.wal if v.name.endswith(".history"))
    if case.anchors is not None:
        assert d.anchors == case.anchors
    if case.warning:
        assert any(case.warning in w for w in d.warnings), d.warnings
    else:
        assert not [w for w in d.warnings if "missing" in w]


def test_reasons_name_the_rule() -> None:
    c = CASES["incremental anchors the window; the older full and incremental go"]
    d = decide(c.backups, c.wal, {}, NOW, c.policy)
    why = {v.name: v.reason for v in d.backups}
    assert "restores the window start" in why["I36"]
    assert "inside the window" in why["I1"]
    assert "before the window start" in why["F50"] and "I36" in why["F50"]
    assert protection(d, "I1") and protection(d, "I36") and protection(d, "F50") is None
    gone = next(v for v in d.removed_wal if v.name == segment_name(1, 1))
    assert "I36" in gone.reason and segment_name(1, 9) in gone.reason


@pytest.mark.parametrize("seed", range(40))
def test_every_second_of_the_window_stays_restorable(seed: int) -> None:
    """Against restore planning itself: for any target inside the window that was
    restorable before expiry (a backup ended before it, WAL continuous), the same backup
    choice and WAL check still succeed on what the policy keeps."""
    rng = random.Random(seed)
    backups, seg = [], 1
    days = sorted(rng.uniform(0, 80) for _ in range(rng.randint(1, 8)))[::-1]
    for i, d in enumerate(days):
        backups.append(B(f"{'FI'[rng.random() < 0.7]}{i}", ago(d), seg))
        seg += rng.randint(1, 4)
    files = wal(1, range(1, seg + 5), ago(0.1))
    policy = Policy(timedelta(days=rng.choice([1, 7, 35])), keep_full=rng.choice([0, 1]))
    d = decide(backups, files, {}, NOW, policy)
    kept = {v.name for v in d.backups if v.keep}
    assert {b.id for b in backups if b.stop_time > d.window_start} <= kept
    kept_wal = {1: [v.name for v in d.wal if v.keep]}
    all_wal = {1: [w.name for w in files]}
    for _ in range(20):
        when = d.window_start + (NOW - d.window_start) * rng.random()
        target = Target("time", when.isoformat())
        docs = [_doc(b) for b in backups]
        try:
            before = choose_backup(docs, target)
            check_wal(before, all_wal, target)
        except Exception:
            continue  # not restorable before expiry either
        after = choose_backup([x for x in docs if x.id in kept], target)
        assert after.id == before.id
        check_wal(after, kept_wal, target)


def _doc(b: BackupFacts) -> BackupManifest:
    seg = b.start_lsn // SEG
    return manifest(
        id=b.id,
        stop_time=b.stop_time.isoformat(),
        stop_lsn=f"0/{b.start_lsn + 100:X}",
        timeline=b.timeline,
        wal_segment_size=SEG,
        wal=[segment_name(1, seg)],
    )


@pytest.mark.parametrize("seed", range(60))
def test_the_last_restore_point_is_never_expired(seed: int) -> None:
    """Whatever the window, the keep counts and how long the cluster has been quiet, the newest
    backup whose own WAL range is archived stays, with every segment from its start on."""
    rng = random.Random(seed)
    quiet = rng.choice([0, 0.001, 3, 40, 400])  # days since the last activity
    backups, seg, archived = [], 1, set()
    for i, d in enumerate(
        sorted(quiet + rng.uniform(0, 90) for _ in range(rng.randint(1, 6)))[::-1]
    ):
        span = range(seg, seg + rng.randint(1, 2))
        backups.append(B(f"{'FI'[rng.random() < 0.5]}{i}", ago(d), seg, needs=span))
        archived |= {s for s in span if rng.random() < 0.8}  # archiving sometimes fails
        seg = span.stop + rng.randint(0, 3)
        archived |= set(range(span.stop, seg))
    files = wal(1, sorted(archived), ago(quiet))
    policy = Policy(
        timedelta(seconds=rng.choice([20, 3600, 86400 * 35])),
        keep_full=rng.choice([0, 1]),
        keep_incremental=rng.choice([0, 2]),
    )
    d = decide(backups, files, {}, NOW, policy)
    kept = {v.name for v in d.backups if v.keep}
    assert backups[-1].id in kept, "the newest backup went"
    good = [b for b in backups if set(b.wal) <= {w.name for w in files}]
    if good:
        last = good[-1]
        assert last.id in kept, f"the newest restorable backup {last.id} went"
        kept_wal = {v.name for v in d.wal if v.keep}
        needed = {w.name for w in files if int(w.name[16:24], 16) >= last.start_lsn // SEG}
        assert needed <= kept_wal, "WAL the last restore point replays went"
