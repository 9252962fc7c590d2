"""Which timeline a restore follows: PostgreSQL's ``latest`` resolved to the newest timeline
the chosen backup can actually reach (an abandoned branch is never followed)."""

from __future__ import annotations

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
