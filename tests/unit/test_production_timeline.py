"""Production's timeline (pgdr.restore.production): the timeline the protected cluster's own
history continues on. A side restore that archived a timeline of its own is a side branch
(its parent went on writing after it left); a failover's timeline continues production (the
old primary stopped where the new timeline began)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgdr.catalog.manifest import BackupManifest
from pgdr.pg.timeline import TimelineSwitch
from pgdr.pg.wal import format_lsn, segment_name
from pgdr.restore.production import production_lineage, timeline_to_follow
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

SEG = 16 << 20


def backup(tli: int, start_seg: int, stop: str = "2026-11-24T03:00:00+00:00") -> BackupManifest:
    return manifest(
        id=f"B{tli}-{start_seg}",
        timeline=tli,
        start_lsn=format_lsn(start_seg * SEG + 40),
        stop_time=stop,
        wal_segment_size=SEG,
    )


T0 = datetime(2026, 11, 24, 3, tzinfo=UTC)


def segs(tli: int, first: int, last: int, at: int = 0) -> dict[str, datetime | None]:
    """Segments first..last of a timeline, stored one a minute from minute ``at``."""
    return {
        segment_name(tli, s, SEG): T0 + timedelta(minutes=at + i)
        for i, s in enumerate(range(first, last + 1))
    }


def hist(tli: int, at: int) -> dict[str, datetime | None]:
    return {f"{tli:08X}.history": T0 + timedelta(minutes=at, seconds=30)}


def sw(parent: int, seg: int, offset: int = 0x100) -> TimelineSwitch:
    return TimelineSwitch(parent, seg * SEG + offset, "before 2026-11-24")


CASES = [
    # (why, backups, stored WAL, histories, production timeline, side branches)
    ("one timeline", [backup(1, 2)], {1: segs(1, 2, 9)}, {}, 1, []),
    (
        "side restore: timeline 1 stored segments after timeline 2 appeared",
        [backup(1, 2)],
        {1: segs(1, 2, 9), 2: {**segs(2, 6, 7, at=5), **hist(2, 5)}},
        {2: [sw(1, 6)]},
        1,
        [2],
    ),
    (
        "side restore of the latest WAL: production then stored its next segment",
        [backup(1, 2)],
        {1: segs(1, 2, 7), 2: {**segs(2, 6, 8, at=4), **hist(2, 4)}},
        {2: [sw(1, 6)]},
        1,
        [2],
    ),
    (
        "failover: timeline 1 stopped (its .partial comes later), timeline 2 carries on",
        [backup(1, 2)],
        {
            1: {**segs(1, 2, 5), "000000010000000000000006.partial": T0 + timedelta(hours=1)},
            2: {**segs(2, 6, 9, at=10), **hist(2, 9)},
        },
        {2: [sw(1, 6)]},
        2,
        [],
    ),
    (
        "a point-in-time restore that replaced production: the old timeline went quiet",
        [backup(1, 2)],
        {1: segs(1, 2, 9), 2: {**segs(2, 6, 7, at=20), **hist(2, 20)}},
        {2: [sw(1, 6)]},
        2,
        [],
    ),
    (
        "failover, then a side restore off the new timeline",
        [backup(1, 2)],
        {
            1: segs(1, 2, 5),
            2: {**segs(2, 6, 12, at=10), **hist(2, 9)},
            3: {**segs(3, 8, 9, at=12), **hist(3, 12)},
        },
        {2: [sw(1, 6)], 3: [sw(1, 6), sw(2, 8)]},
        2,
        [3],
    ),
    (
        "a branch that left before the newest backup started is a side branch",
        [backup(1, 7)],
        {1: segs(1, 7, 8), 2: {**segs(2, 5, 6, at=30), **hist(2, 30)}},
        {2: [sw(1, 5)]},
        1,
        [2],
    ),
    (
        "the newest backup was taken on timeline 3: production",
        [backup(1, 2, "2026-11-20T03:00:00+00:00"), backup(3, 9)],
        {
            1: segs(1, 2, 9),
            2: {**segs(2, 6, 7, at=3), **hist(2, 3)},
            3: {**segs(3, 9, 12, at=20), **hist(3, 20)},
        },
        {2: [sw(1, 6)], 3: [sw(1, 9, 0)]},
        3,
        [2],
    ),
    ("no backup: the first timeline", [], {1: segs(1, 1, 3)}, {}, 1, []),
]


@pytest.mark.parametrize(("why", "backups", "archived", "histories", "tli", "branches"), CASES)
def test_production_lineage(
    why: str,
    backups: list[dict[str, object]],
    archived: dict[int, dict[str, datetime | None]],
    histories: dict[int, list[TimelineSwitch]],
    tli: int,
    branches: list[int],
) -> None:
    lineage = production_lineage(backups, archived, histories)
    assert lineage.timeline == tli, why
    assert [b.timeline for b in lineage.branches] == branches, why
    assert lineage.describe(tli) == "production"
    for b in branches:
        assert lineage.describe(b).startswith("side branch off timeline"), why


def test_restore_follows_production_only_when_the_backup_reaches_it() -> None:
    histories = {2: [sw(1, 6)]}
    archived = {1: segs(1, 2, 5), 2: {**segs(2, 6, 9, at=10), **hist(2, 9)}}
    lineage = production_lineage([backup(1, 2)], archived, histories)
    assert timeline_to_follow(backup(1, 2), lineage, histories) == "2"
    # A backup taken on timeline 1 after timeline 2 left it is not on production's path.
    assert timeline_to_follow(backup(1, 7), lineage, histories) is None
