"""The WAL segment long page header: a segment is what its name says, or it is refused."""

from __future__ import annotations

import pytest

from pgdr.pg.wal_header import BadWalFile, check_segment, fake_segment

pytestmark = pytest.mark.unit
NAME = "000000010000000000000003"
MB = 1 << 20


def test_a_valid_segment_gives_its_cluster_and_size() -> None:
    data = fake_segment(NAME, 7312345678901234567, MB)
    h = check_segment(NAME, data, len(data))
    assert h.system_identifier == "7312345678901234567" and h.seg_size == MB
    assert h.page_lsn == 3 * MB
    assert check_segment(NAME + ".partial", data, len(data)).seg_size == MB


@pytest.mark.parametrize(
    ("name", "data", "size", "says"),
    [
        (NAME, b"x" * 30, 30, "too short"),
        (NAME, b"x" * 100, 100, "no WAL segment header"),
        (NAME, bytes(MB), MB, "no WAL segment header"),
        (NAME, fake_segment(NAME, 1, MB)[:100], 100, "100 bytes"),
        ("000000010000000000000004", fake_segment(NAME, 1, MB), MB, "not at 0/400000"),
        (NAME, fake_segment(NAME, 1, MB)[:40] + bytes(MB - 40 - 1), MB - 1, "bytes"),
    ],
)
def test_files_that_are_not_the_named_segment_are_refused(
    name: str, data: bytes, size: int, says: str
) -> None:
    with pytest.raises(BadWalFile, match=says) as e:
        check_segment(name, data, size)
    assert e.value.exit_code == 2


def test_an_impossible_segment_size_in_the_header_is_refused() -> None:
    data = bytearray(fake_segment(NAME, 1, MB))
    data[32:36] = (3 * MB).to_bytes(4, "little")
    with pytest.raises(BadWalFile, match="impossible segment size"):
        check_segment(NAME, bytes(data), len(data))
