"""Pure WAL arithmetic: LSNs, segment numbers and WAL file names. No I/O.

Everything here mirrors ``src/include/access/xlog_internal.h`` of PostgreSQL:

* An LSN is a 64-bit byte position in the WAL stream, written ``%X/%X`` (high and low 32
  bits, uppercase hex, no leading zeros), e.g. ``16/B374D848``.
* ``segno = lsn // seg_size`` (``XLByteToSeg``); the segment holding the byte *before* an
  end position is ``(lsn - 1) // seg_size`` (``XLByteToPrevSeg``).
* A segment file name is ``%08X%08X%08X`` of (timeline, segno // per_id, segno % per_id)
  where ``per_id = 0x1_0000_0000 // seg_size`` (``XLogFileName``). With 16 MiB segments a
  "log id" holds 256 segments, so segno 0xFF is ``…00000000000000FF`` and segno 0x100 is
  ``…0000000100000000``.

Errors raise :class:`WalError`, which is both a :class:`~pgdr.errors.PostgresError` and a
:class:`ValueError`.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from pgdr.errors import PostgresError

#: A WAL position (``XLogRecPtr``): a plain non-negative int below 2**64.
Lsn: TypeAlias = int

DEFAULT_SEG_SIZE = 16 * 1024 * 1024
MIN_SEG_SIZE = 1024 * 1024
MAX_SEG_SIZE = 1024 * 1024 * 1024
MAX_LSN = (1 << 64) - 1
MAX_TLI = 0xFFFFFFFF

_HEX = "0-9A-F"
_LSN_RE = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
_SEGMENT_RE = re.compile(rf"[{_HEX}]{{24}}")
_PARTIAL_RE = re.compile(rf"[{_HEX}]{{24}}\.partial")
_HISTORY_RE = re.compile(rf"([{_HEX}]{{8}})\.history")
_BACKUP_RE = re.compile(rf"[{_HEX}]{{24}}\.[{_HEX}]{{8}}\.backup")


class WalError(PostgresError, ValueError):
    """A malformed LSN, WAL file name, timeline or segment size."""

    kind = "wal"


# --- LSN -----------------------------------------------------------------------------------


def parse_lsn(text: str) -> Lsn:
    """``"16/B374D848"`` → ``0x16B374D848``. Accepts either case, like ``pg_lsn_in``."""
    m = _LSN_RE.fullmatch(text.strip())
    if m is None:
        raise WalError(f"invalid LSN {text!r}: expected two hex numbers like 16/B374D848")
    return (int(m.group(1), 16) << 32) | int(m.group(2), 16)


def format_lsn(lsn: Lsn) -> str:
    """``0x16B374D848`` → ``"16/B374D848"`` (PostgreSQL's ``%X/%X``)."""
    _check_lsn(lsn)
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _check_lsn(lsn: Lsn) -> None:
    if not 0 <= lsn <= MAX_LSN:
        raise WalError(f"LSN {lsn} is outside 0..2**64-1")


# --- segment numbers -----------------------------------------------------------------------


def check_seg_size(seg_size: int) -> int:
    """Return ``seg_size`` if it is a power of two in 1 MiB..1 GiB (``IsValidWalSegSize``)."""
    if not (MIN_SEG_SIZE <= seg_size <= MAX_SEG_SIZE and seg_size & (seg_size - 1) == 0):
        raise WalError(f"invalid wal_segment_size {seg_size}: must be a power of two, 1MB..1GB")
    return seg_size


def segments_per_id(seg_size: int = DEFAULT_SEG_SIZE) -> int:
    """Segments per "log id", the middle 8 hex digits of a name (256 for 16 MiB)."""
    return 0x1_0000_0000 // check_seg_size(seg_size)


def segno_of_lsn(lsn: Lsn, seg_size: int = DEFAULT_SEG_SIZE) -> int:
    """Segment that contains the byte at ``lsn`` (``XLByteToSeg``)."""
    _check_lsn(lsn)
    return lsn // check_seg_size(seg_size)


def segno_before_lsn(lsn: Lsn, seg_size: int = DEFAULT_SEG_SIZE) -> int:
    """Segment that contains the byte just before ``lsn`` (``XLByteToPrevSeg``).

    Use this for end positions: a record ending exactly on a boundary lives in the previous
    segment. ``pg_walfile_name()`` and the backup history file's STOP line use this rule.
    """
    _check_lsn(lsn)
    if lsn == 0:
        raise WalError("LSN 0/0 has no previous segment")
    return (lsn - 1) // check_seg_size(seg_size)


def segment_start_lsn(segno: int, seg_size: int = DEFAULT_SEG_SIZE) -> Lsn:
    """First LSN of segment ``segno``."""
    lsn = segno * check_seg_size(seg_size)
    if segno < 0 or lsn > MAX_LSN:
        raise WalError(f"segment number {segno} is out of range")
    return lsn


def segment_offset(lsn: Lsn, seg_size: int = DEFAULT_SEG_SIZE) -> int:
    """Byte offset of ``lsn`` inside its segment (``XLogSegmentOffset``)."""
    _check_lsn(lsn)
    return lsn & (check_seg_size(seg_size) - 1)


def segments_between(start_lsn: Lsn, end_lsn: Lsn, seg_size: int = DEFAULT_SEG_SIZE) -> list[int]:
    """Segment numbers needed to replay WAL from ``start_lsn`` up to ``end_lsn``.

    ``start_lsn`` is where reading begins (a backup's START WAL LOCATION, i.e. the redo
    point of its checkpoint); ``end_lsn`` is an *end* position, exclusive: the byte just past
    the last record that must be replayed (what ``pg_backup_stop()`` returns). The result is
    every segno from ``XLByteToSeg(start)`` through ``XLByteToPrevSeg(end)`` inclusive —
    exactly the START and STOP files PostgreSQL writes into the ``.backup`` history file,
    and the last file ``pg_backup_stop`` waits to see archived. If ``end_lsn`` sits on a
    segment boundary the segment starting there is *not* needed. ``start == end`` yields the
    one segment containing ``start`` (recovery must still read the record there).
    """
    if end_lsn < start_lsn:
        raise WalError(f"end LSN {format_lsn(end_lsn)} is before start {format_lsn(start_lsn)}")
    first = segno_of_lsn(start_lsn, seg_size)
    last = segno_before_lsn(end_lsn, seg_size) if end_lsn > 0 else first
    return list(range(first, max(first, last) + 1))


# --- file names ----------------------------------------------------------------------------


def _check_tli(tli: int) -> int:
    if not 1 <= tli <= MAX_TLI:
        raise WalError(f"invalid timeline {tli}: must be 1..{MAX_TLI}")
    return tli


def segment_name(tli: int, segno: int, seg_size: int = DEFAULT_SEG_SIZE) -> str:
    """``XLogFileName``: e.g. (1, 3) → ``000000010000000000000003``."""
    per_id = segments_per_id(seg_size)
    segment_start_lsn(segno, seg_size)  # range check
    return f"{_check_tli(tli):08X}{segno // per_id:08X}{segno % per_id:08X}"


def parse_segment_name(name: str, seg_size: int = DEFAULT_SEG_SIZE) -> tuple[int, int]:
    """``"000000010000000100000000"`` → ``(1, 256)`` for 16 MiB segments.

    Also accepts a ``.partial`` name. Rejects timeline 0 and a low part that cannot exist
    for this segment size (e.g. ``…000001000`` with 16 MiB segments).
    """
    base = name[:24] if is_partial(name) else name
    if not is_segment(base):
        raise WalError(f"not a WAL segment file name: {name!r}")
    tli, log, seg = int(base[:8], 16), int(base[8:16], 16), int(base[16:], 16)
    per_id = segments_per_id(seg_size)
    if seg >= per_id:
        raise WalError(f"{name!r} is not a valid segment name for {seg_size}-byte segments")
    return _check_tli(tli), log * per_id + seg


def history_name(tli: int) -> str:
    """``TLHistoryFileName``: 2 → ``00000002.history``."""
    return f"{_check_tli(tli):08X}.history"


def backup_history_name(tli: int, start_lsn: Lsn, seg_size: int = DEFAULT_SEG_SIZE) -> str:
    """``BackupHistoryFileName``: ``<segment of start>.<offset of start>.backup``."""
    seg = segment_name(tli, segno_of_lsn(start_lsn, seg_size), seg_size)
    return f"{seg}.{segment_offset(start_lsn, seg_size):08X}.backup"


def is_segment(name: str) -> bool:
    """24 uppercase hex digits (``IsXLogFileName``)."""
    return _SEGMENT_RE.fullmatch(name) is not None


def is_partial(name: str) -> bool:
    """A segment name followed by ``.partial`` (``IsPartialXLogFileName``)."""
    return _PARTIAL_RE.fullmatch(name) is not None


def is_history(name: str) -> bool:
    """``00000002.history`` (``IsTLHistoryFileName``)."""
    return _HISTORY_RE.fullmatch(name) is not None


def is_backup_history(name: str) -> bool:
    """``000000010000000000000002.00000028.backup`` (stricter than ``IsBackupHistoryFileName``)."""
    return _BACKUP_RE.fullmatch(name) is not None


def timeline_of_history(name: str) -> int:
    """``00000002.history`` → 2."""
    m = _HISTORY_RE.fullmatch(name)
    if m is None:
        raise WalError(f"not a timeline history file name: {name!r}")
    return _check_tli(int(m.group(1), 16))


def timeline_of_name(name: str) -> int:
    """Timeline of any WAL-archive file name (segment, partial, backup or history file)."""
    if is_history(name):
        return timeline_of_history(name)
    if is_segment(name[:24]) and (len(name) == 24 or is_partial(name) or is_backup_history(name)):
        return _check_tli(int(name[:8], 16))
    raise WalError(f"not a WAL archive file name: {name!r}")
