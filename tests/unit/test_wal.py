"""LSN and WAL segment-name arithmetic, against values PostgreSQL itself produces."""

from __future__ import annotations

import pytest

from pgdr.errors import PostgresError
from pgdr.pg import wal
from pgdr.pg.wal import (
    WalError,
    backup_history_name,
    format_lsn,
    history_name,
    is_backup_history,
    is_history,
    is_partial,
    is_segment,
    parse_lsn,
    parse_segment_name,
    segment_name,
    segment_offset,
    segment_start_lsn,
    segments_between,
    segments_per_id,
    segno_before_lsn,
    segno_of_lsn,
    timeline_of_history,
    timeline_of_name,
)

pytestmark = pytest.mark.unit

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("text", "value", "canonical"),
    [
        ("0/0", 0, "0/0"),
        ("0/3000028", 0x3000028, "0/3000028"),
        ("16/B374D848", 0x16B374D848, "16/B374D848"),
        ("16/b374d848", 0x16B374D848, "16/B374D848"),
        ("00000016/0000D848", 0x160000D848, "16/D848"),
        ("1/0", 1 << 32, "1/0"),
        ("FFFFFFFF/FFFFFFFF", (1 << 64) - 1, "FFFFFFFF/FFFFFFFF"),
    ],
)
def test_lsn_parse_and_format(text: str, value: int, canonical: str) -> None:
    assert parse_lsn(text) == value
    assert format_lsn(value) == canonical


@pytest.mark.parametrize("bad", ["", "16", "16/", "/16", "1/2/3", "G/0", "123456789/0", "-1/0"])
def test_lsn_rejects_garbage(bad: str) -> None:
    with pytest.raises(WalError):
        parse_lsn(bad)


def test_wal_error_is_both_postgres_error_and_value_error() -> None:
    with pytest.raises(PostgresError):
        parse_lsn("x")
    with pytest.raises(ValueError):
        format_lsn(-1)
    with pytest.raises(ValueError):
        format_lsn(1 << 64)


@pytest.mark.parametrize(
    ("seg_size", "per_id"),
    [(1 * MiB, 4096), (16 * MiB, 256), (64 * MiB, 64), (1024 * MiB, 4)],
)
def test_segments_per_log_id(seg_size: int, per_id: int) -> None:
    assert segments_per_id(seg_size) == per_id


@pytest.mark.parametrize("bad", [0, 512 * 1024, 3 * MiB, 2048 * MiB, 16 * MiB + 1])
def test_invalid_segment_sizes(bad: int) -> None:
    with pytest.raises(WalError):
        segments_per_id(bad)
    with pytest.raises(WalError):
        segment_name(1, 0, bad)


# (tli, lsn, seg_size) -> name of the segment containing lsn (pg_walfile_name_offset's rule)
SEGMENT_OF_LSN = [
    (1, "0/3000028", 16 * MiB, "000000010000000000000003"),
    (1, "0/FFFFFFF", 16 * MiB, "00000001000000000000000F"),
    (1, "0/FF000000", 16 * MiB, "0000000100000000000000FF"),
    (1, "1/0", 16 * MiB, "000000010000000100000000"),
    (1, "16/B374D848", 16 * MiB, "0000000100000016000000B3"),
    (10, "16/B374D848", 16 * MiB, "0000000A00000016000000B3"),
    (1, "0/3000028", 64 * MiB, "000000010000000000000000"),
    (1, "0/FC000000", 64 * MiB, "00000001000000000000003F"),
    (1, "1/4000000", 64 * MiB, "000000010000000100000001"),
    (2, "0/3000028", 1 * MiB, "000000020000000000000030"),
    (1, "1/0", 1 * MiB, "000000010000000100000000"),
    (1, "0/FFF00000", 1 * MiB, "000000010000000000000FFF"),
    (1, "1/40000000", 1024 * MiB, "000000010000000100000001"),
]


@pytest.mark.parametrize(("tli", "lsn", "seg_size", "name"), SEGMENT_OF_LSN)
def test_segment_of_lsn(tli: int, lsn: str, seg_size: int, name: str) -> None:
    segno = segno_of_lsn(parse_lsn(lsn), seg_size)
    assert segment_name(tli, segno, seg_size) == name
    assert parse_segment_name(name, seg_size) == (tli, segno)
    assert segment_start_lsn(segno, seg_size) <= parse_lsn(lsn)
    assert parse_lsn(lsn) < segment_start_lsn(segno + 1, seg_size)


@pytest.mark.parametrize(
    ("segno", "seg_size", "name"),
    [
        (0, 16 * MiB, "000000010000000000000000"),
        (0xFF, 16 * MiB, "0000000100000000000000FF"),
        (0x100, 16 * MiB, "000000010000000100000000"),
        (0x101, 16 * MiB, "000000010000000100000001"),
        (63, 64 * MiB, "00000001000000000000003F"),
        (64, 64 * MiB, "000000010000000100000000"),
        (4095, 1 * MiB, "000000010000000000000FFF"),
        (4096, 1 * MiB, "000000010000000100000000"),
        (5, 1024 * MiB, "000000010000000100000001"),
    ],
)
def test_segment_names_roll_over_log_id(segno: int, seg_size: int, name: str) -> None:
    assert segment_name(1, segno, seg_size) == name
    assert parse_segment_name(name, seg_size) == (1, segno)


def test_segno_before_lsn_is_xlbytetoprevseg() -> None:
    assert segno_before_lsn(parse_lsn("0/4000000")) == 3  # boundary: previous segment
    assert segno_before_lsn(parse_lsn("0/4000001")) == 4
    assert segno_of_lsn(parse_lsn("0/4000000")) == 4
    with pytest.raises(WalError):
        segno_before_lsn(0)


def test_segment_offset_and_backup_history_name() -> None:
    assert segment_offset(parse_lsn("0/2000028")) == 0x28
    assert segment_offset(parse_lsn("16/B374D848")) == 0x74D848
    assert (
        backup_history_name(1, parse_lsn("0/2000028")) == "000000010000000000000002.00000028.backup"
    )
    assert backup_history_name(3, parse_lsn("1/4000060"), 64 * MiB) == (
        "000000030000000100000001.00000060.backup"
    )


@pytest.mark.parametrize(
    ("start", "end", "segnos"),
    [
        ("0/3000028", "0/3000100", [3]),  # same segment
        ("0/2000028", "0/4000000", [2, 3]),  # end on a boundary: segment 4 not needed
        ("0/2000028", "0/4000001", [2, 3, 4]),  # one byte into segment 4
        ("0/2000028", "0/2000028", [2]),  # empty range still reads the start segment
        ("0/4000000", "0/4000000", [4]),
        ("0/FF000028", "1/1000000", [255, 256]),  # across the log-id boundary
        ("0/0", "0/1000000", [0]),
    ],
)
def test_segments_between(start: str, end: str, segnos: list[int]) -> None:
    assert segments_between(parse_lsn(start), parse_lsn(end)) == segnos


def test_segments_between_other_sizes_and_errors() -> None:
    assert segments_between(parse_lsn("0/3000028"), parse_lsn("0/8000000"), 64 * MiB) == [0, 1]
    assert segments_between(parse_lsn("0/3000028"), parse_lsn("0/3200000"), 1 * MiB) == [48, 49]
    with pytest.raises(WalError):
        segments_between(parse_lsn("0/5000000"), parse_lsn("0/4000000"))


@pytest.mark.parametrize(
    ("name", "segment", "partial", "history", "backup"),
    [
        ("000000010000000000000003", True, False, False, False),
        ("000000010000000000000003.partial", False, True, False, False),
        ("00000002.history", False, False, True, False),
        ("000000010000000000000002.00000028.backup", False, False, False, True),
        ("00000001000000000000000a", False, False, False, False),  # lowercase: not PostgreSQL's
        ("0000000100000000000003", False, False, False, False),  # too short
        ("000000010000000000000003.gz", False, False, False, False),
        ("00000002.history.tmp", False, False, False, False),
        ("archive_status", False, False, False, False),
        ("000000010000000000000002.28.backup", False, False, False, False),
    ],
)
def test_name_classification(
    name: str, segment: bool, partial: bool, history: bool, backup: bool
) -> None:
    assert (is_segment(name), is_partial(name), is_history(name), is_backup_history(name)) == (
        segment,
        partial,
        history,
        backup,
    )


def test_timelines_of_names() -> None:
    assert timeline_of_history("00000002.history") == 2
    assert timeline_of_history("0000001A.history") == 26
    assert history_name(26) == "0000001A.history"
    assert timeline_of_name("0000000B0000000000000003.partial") == 11
    assert timeline_of_name("000000030000000000000002.00000028.backup") == 3
    assert timeline_of_name("00000004.history") == 4
    for bad in ("000000010000000000000003.gz", "00000000.history", "x"):
        with pytest.raises(WalError):
            timeline_of_name(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "000000000000000000000003",  # timeline 0
        "000000010000000000000100",  # low part 0x100 impossible with 16 MiB segments
        "00000001000000000000000a",
        "0000000100000000000000",
    ],
)
def test_parse_segment_name_rejects(bad: str) -> None:
    with pytest.raises(WalError):
        parse_segment_name(bad)


def test_parse_segment_name_partial_and_size_dependence() -> None:
    assert parse_segment_name("000000020000000100000000.partial") == (2, 256)
    assert parse_segment_name("000000010000000000000100", 1 * MiB) == (1, 256)


def test_segment_name_range_checks() -> None:
    with pytest.raises(WalError):
        segment_name(0, 1)
    with pytest.raises(WalError):
        segment_name(1, -1)
    last = (1 << 64) // (16 * MiB) - 1
    assert segment_name(0xFFFFFFFF, last) == "FFFFFFFFFFFFFFFF000000FF"
    with pytest.raises(WalError):
        segment_name(1, last + 1)


@pytest.mark.parametrize("seg_size", [1 * MiB, 2 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, 1024 * MiB])
def test_round_trip_many_segments(seg_size: int) -> None:
    per_id = segments_per_id(seg_size)
    for segno in (0, 1, per_id - 1, per_id, per_id + 1, 7 * per_id + 3, 0xFFFF * per_id):
        name = segment_name(7, segno, seg_size)
        assert wal.parse_segment_name(name, seg_size) == (7, segno)
        lsn = segment_start_lsn(segno, seg_size)
        assert segno_of_lsn(lsn, seg_size) == segno
        assert segno_of_lsn(lsn + seg_size - 1, seg_size) == segno
        # names sort like segment numbers on one timeline (what archive listings rely on)
        assert name < segment_name(7, segno + 1, seg_size)
