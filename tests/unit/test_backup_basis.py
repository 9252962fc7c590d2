"""When an incremental backup is taken as a full (pgdr.backup.basis): table tests."""

from __future__ import annotations

import pytest

from pgdr.backup.basis import FullFacts, effective_type
from pgdr.humanize import duration, utc

SYS = "7000000000000000001"
# timeline 2 left timeline 1 at 0/5000000; timeline 3 left timeline 1 at 0/3000000
HIST2 = "1\t0/5000000\tno recovery target specified\n"
HIST3 = "1\t0/3000000\tbefore 2026-12-01\n"


@pytest.mark.parametrize(
    ("requested", "fulls", "timeline", "history", "expected"),
    [
        ("incr", [], 1, "", "full"),  # the first backup ever
        ("full", [], 1, "", "full"),
        ("incr", [FullFacts(SYS, 1, 0x2000000)], 1, "", "incr"),
        ("incr", [FullFacts("other cluster", 1, 0x2000000)], 1, "", "full"),
        # after a promotion: a full of the parent taken before the switch still leads here
        ("incr", [FullFacts(SYS, 1, 0x2000000)], 2, HIST2, "incr"),
        # ... but not one taken on the parent after the switch point (a side branch)
        ("incr", [FullFacts(SYS, 1, 0x4000000)], 3, HIST3, "full"),
        # a full of a sibling timeline is not on this timeline's history
        ("incr", [FullFacts(SYS, 2, 0x6000000)], 3, HIST3, "full"),
        # history not archived yet: only a full of the same timeline counts
        ("incr", [FullFacts(SYS, 1, 0x2000000)], 2, None, "full"),
        ("incr", [FullFacts(SYS, 2, 0x6000000)], 2, None, "incr"),
    ],
)
def test_effective_type(
    requested: str, fulls: list[FullFacts], timeline: int, history: str | None, expected: str
) -> None:
    assert effective_type(requested, fulls, SYS, timeline, history) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1.2044713179998325, "1.2 s"),
        (0.53, "0.5 s"),
        (59.9, "59.9 s"),
        (75, "1 min 15 s"),
        (7260, "2 h 01 min"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_utc() -> None:
    assert utc("2026-12-07T01:20:01.5+01:00") == "2026-12-07 00:20:01 UTC"
    assert utc("2026-12-07T00:20:01", seconds=False) == "2026-12-07 00:20 UTC"
