"""The long page header at the start of every WAL segment file. Pure, no I/O.

Mirrors ``XLogLongPageHeaderData`` (``src/include/access/xlog_internal.h``), little-endian:

    offset size  field
    0      2     xlp_magic         WAL format magic (0xD1xx for PostgreSQL 12 and later)
    2      2     xlp_info          flag bits; XLP_LONG_HEADER (0x0002) on a segment's first page
    4      4     xlp_tli           timeline of the page (the old one on a switch segment)
    8      8     xlp_pageaddr      LSN of the page: the segment's start LSN
    16     4     xlp_rem_len       continuation length
    20     4     (padding)
    24     8     xlp_sysid         the cluster's system identifier (pg_control_system())
    32     4     xlp_seg_size      wal_segment_size
    36     4     xlp_xlog_blcksz   WAL block size

So ``wal-push`` knows which cluster wrote a segment without a database connection, and can
refuse a file that is not the segment its name says (wrong size, no header, another place).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pgdr.errors import UsageError
from pgdr.pg.wal import (
    MAX_SEG_SIZE,
    MIN_SEG_SIZE,
    WalError,
    format_lsn,
    parse_segment_name,
    segment_start_lsn,
)

LONG_HEADER = struct.Struct("<HHIQI4xQII")
LONG_HEADER_LEN = LONG_HEADER.size  # 40
XLP_LONG_HEADER = 0x0002
#: Every WAL magic since PostgreSQL 9.x lies here (0xD093 in 9.6, 0xD116 in 17); a segment
#: with another value is not WAL (or was written by a PostgreSQL pgdr does not know yet).
MAGIC_RANGE = range(0xD000, 0xD200)


class BadWalFile(UsageError):
    """A file named as a WAL segment that is not one (size, header, place)."""

    kind = "bad-wal-file"


@dataclass(frozen=True)
class SegmentHeader:
    magic: int
    timeline: int
    page_lsn: int
    system_identifier: str  # decimal, as pg_control_system() prints it
    seg_size: int
    block_size: int


def parse_long_header(head: bytes, name: str) -> SegmentHeader:
    if len(head) < LONG_HEADER_LEN:
        raise BadWalFile(f"{name}: too short for a WAL segment ({len(head)} bytes)")
    magic, info, tli, pageaddr, _rem, sysid, seg_size, blcksz = LONG_HEADER.unpack_from(head)
    if magic not in MAGIC_RANGE or not info & XLP_LONG_HEADER:
        raise BadWalFile(f"{name}: no WAL segment header (magic {magic:#06x}, info {info:#x})")
    return SegmentHeader(magic, tli, pageaddr, str(sysid), seg_size, blcksz)


def check_segment(name: str, head: bytes, size: int) -> SegmentHeader:
    """The header of segment (or ``.partial``) file ``name`` whose first bytes are ``head``
    and whose length is ``size``; BadWalFile unless it is the segment the name says."""
    h = parse_long_header(head, name)
    pow2 = h.seg_size & (h.seg_size - 1) == 0
    if not (pow2 and MIN_SEG_SIZE <= h.seg_size <= MAX_SEG_SIZE):
        raise BadWalFile(f"{name}: header names an impossible segment size {h.seg_size}")
    if size != h.seg_size:
        raise BadWalFile(
            f"{name}: {size} bytes, but its header says segments are {h.seg_size} bytes "
            "(truncated or not a WAL segment)"
        )
    try:
        _tli, segno = parse_segment_name(name, h.seg_size)
    except WalError as e:
        raise BadWalFile(f"{name}: {e}") from None
    expected = segment_start_lsn(segno, h.seg_size)
    if h.page_lsn != expected:
        raise BadWalFile(
            f"{name}: its first page is at {format_lsn(h.page_lsn)}, not at "
            f"{format_lsn(expected)} as the name says (a renamed or copied file?)"
        )
    return h


def fake_segment(
    name: str, system_identifier: int, seg_size: int = MIN_SEG_SIZE, body: bytes = b""
) -> bytes:
    """A segment file with a valid long header, then ``body``, then zeros (tests)."""
    _tli, segno = parse_segment_name(name, seg_size)
    tli = int(name[:8], 16)
    head = LONG_HEADER.pack(
        0xD110,
        XLP_LONG_HEADER,
        tli,
        segment_start_lsn(segno, seg_size),
        0,
        system_identifier,
        seg_size,
        8192,
    )
    return head + body + bytes(seg_size - len(head) - len(body))
