"""Timeline history parsing and the segment-per-timeline rule of XLogFileReadAnyTLI."""

from __future__ import annotations

import pytest

from pgdr.pg.timeline import (
    TimelineHistoryError,
    TimelineSpan,
    TimelineSwitch,
    ancestry,
    candidate_timelines,
    format_history,
    parse_history,
    segment_files_needed,
    segments_needed,
    timeline_for_lsn,
)
from pgdr.pg.wal import WalError, parse_lsn

pytestmark = pytest.mark.unit

MiB = 1024 * 1024

# What PostgreSQL 15 writes into 00000003.history after two promotions.
HISTORY_3 = (
    "1\t0/3000158\tno recovery target specified\n"
    "\n"
    "2\t0/50000A0\tbefore 2024-03-01 10:00:00.000000+00\n"
)
H3 = parse_history(HISTORY_3)


def test_parse_history_three_timelines() -> None:
    assert [
        TimelineSwitch(1, 0x3000158, "no recovery target specified"),
        TimelineSwitch(2, 0x50000A0, "before 2024-03-01 10:00:00.000000+00"),
    ] == H3
    assert parse_history(format_history(H3)) == H3


def test_parse_history_comments_blank_lines_crlf_and_spaces() -> None:
    text = "# comment\n\n  \n1\t0/3000158\tx\r\n  # indented comment\n2 1/A0 no tab\n3\t1/B0\n"
    assert parse_history(text) == [
        TimelineSwitch(1, 0x3000158, "x"),
        TimelineSwitch(2, 0x1000000A0, "no tab"),
        TimelineSwitch(3, 0x1000000B0, ""),
    ]
    assert parse_history("") == []


@pytest.mark.parametrize(
    "bad",
    [
        "x\t0/1\treason\n",  # no numeric timeline
        "1\n",  # no switchpoint
        "1\tzz/1\n",  # bad LSN
        "2\t0/1\n1\t0/2\n",  # timelines must increase
        "1\t0/1\n1\t0/2\n",
        "1\t0/5000000\n2\t0/4000000\n",  # switchpoints must not go backwards
        "0\t0/1\n",
    ],
)
def test_parse_history_rejects(bad: str) -> None:
    with pytest.raises(TimelineHistoryError):
        parse_history(bad)
    with pytest.raises(WalError):  # one family
        parse_history(bad)


def test_ancestry() -> None:
    assert ancestry(3, H3) == [
        TimelineSpan(1, 0, 0x3000158),
        TimelineSpan(2, 0x3000158, 0x50000A0),
        TimelineSpan(3, 0x50000A0, None),
    ]
    assert ancestry(1, []) == [TimelineSpan(1, 0, None)]
    # a file may skip abandoned timelines (here 2 and 3)
    assert [s.tli for s in ancestry(5, parse_history("1\t0/3000000\n4\t0/6000000\n"))] == [1, 4, 5]
    with pytest.raises(TimelineHistoryError):
        ancestry(2, H3)  # a timeline cannot be older than its parent
    with pytest.raises(TimelineHistoryError):
        ancestry(4, [TimelineSwitch(2, 5, ""), TimelineSwitch(1, 6, "")])


@pytest.mark.parametrize(
    ("lsn", "tli"),
    [
        ("0/0", 1),
        ("0/3000157", 1),
        ("0/3000158", 2),  # the switch LSN belongs to the new timeline
        ("0/4000000", 2),
        ("0/500009F", 2),
        ("0/50000A0", 3),
        ("FFFFFFFF/0", 3),
    ],
)
def test_timeline_for_lsn(lsn: str, tli: int) -> None:
    assert timeline_for_lsn(3, H3, parse_lsn(lsn)) == tli


def test_timeline_for_lsn_on_timeline_one() -> None:
    assert timeline_for_lsn(1, [], parse_lsn("5/0")) == 1


@pytest.mark.parametrize(
    ("segno", "candidates"),
    [(2, [1]), (3, [2, 1]), (4, [2, 1]), (5, [3, 2, 1]), (200, [3, 2, 1])],
)
def test_candidate_timelines_newest_first(segno: int, candidates: list[int]) -> None:
    assert candidate_timelines(3, H3, segno) == candidates


def test_segments_needed_three_timelines_golden() -> None:
    # backup taken on timeline 1 at 0/2000028; replay to 0/6000100 on timeline 3
    start, end = parse_lsn("0/2000028"), parse_lsn("0/6000100")
    assert segments_needed(3, H3, start, end) == [(1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]
    assert segment_files_needed(3, H3, start, end) == [
        "000000010000000000000002",
        "000000020000000000000003",  # holds timeline 1's WAL up to 0/3000158, then timeline 2
        "000000020000000000000004",
        "000000030000000000000005",  # switch 0/50000A0 is in segment 5: read from timeline 3
        "000000030000000000000006",
    ]


def test_segments_needed_start_after_switches() -> None:
    start, end = parse_lsn("0/5800000"), parse_lsn("0/7000000")
    assert segments_needed(3, H3, start, end) == [(3, 5), (3, 6)]


def test_switch_exactly_on_segment_boundary() -> None:
    history = parse_history("1\t0/5000000\tat a boundary\n")
    assert segments_needed(2, history, parse_lsn("0/4000028"), parse_lsn("0/5000100")) == [
        (1, 4),
        (2, 5),
    ]
    assert timeline_for_lsn(2, history, parse_lsn("0/4FFFFFF")) == 1


def test_two_switches_in_one_segment_skip_the_middle_timeline() -> None:
    history = parse_history("1\t0/3000158\ta\n2\t0/3000200\tb\n")
    assert segments_needed(3, history, parse_lsn("0/2000000"), parse_lsn("0/4000001")) == [
        (1, 2),
        (3, 3),
        (3, 4),
    ]
    assert timeline_for_lsn(3, history, parse_lsn("0/3000160")) == 2


def test_abandoned_timeline_is_never_used() -> None:
    # timeline 4 forked from 3 which forked from 1; timeline 2 (a dead branch) is absent
    history = parse_history("1\t0/3000000\tx\n3\t0/5000000\ty\n")
    assert segments_needed(4, history, 0, parse_lsn("0/6000000")) == [
        (1, 0),
        (1, 1),
        (1, 2),
        (3, 3),
        (3, 4),
        (4, 5),
    ]


def test_segments_needed_timeline_one_and_other_segment_sizes() -> None:
    assert segments_needed(1, [], parse_lsn("0/FF000000"), parse_lsn("1/1000000")) == [
        (1, 255),
        (1, 256),
    ]
    # 64 MiB segments: the switch at 0/50000A0 lies in segment 1 (0/4000000..0/7FFFFFF)
    assert segments_needed(3, H3, parse_lsn("0/2000028"), parse_lsn("0/8000001"), 64 * MiB) == [
        (2, 0),  # segment 0 holds the first switch (0/3000158): newest timeline begun by then
        (3, 1),
        (3, 2),
    ]
    assert segment_files_needed(3, H3, 0, parse_lsn("0/100000"), 1 * MiB) == [
        "000000010000000000000000"
    ]
