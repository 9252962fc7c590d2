"""PostgreSQL data page checksums, verified while a backup reads relation files.

The algorithm (src/include/storage/checksum_impl.h): the 8 KiB page as a 64 x 32 array of
little-endian uint32, 32 FNV-1a-like lanes each seeded with a fixed offset, two extra rounds
with zero, lanes XOR-folded, pd_checksum counted as zero, XOR with the block number, reduced to
1..65535. Vectorized over all pages of a read block with NumPy.

A page is only reported when it is still wrong after a second read and its LSN is older than
the backup's start: pages written during the backup may be torn and are repaired by WAL replay
(full-page writes), which is why pg_basebackup and pgBackRest apply the same rule.
"""

from __future__ import annotations

import os

import numpy as np

PAGE = 8192
RELSEG_PAGES = 131072  # 1 GiB segment files
FNV_PRIME = np.uint32(16777619)
BASE_OFFSETS = np.array(
    [
        0x5B1F36E9,
        0xB8525960,
        0x02AB50AA,
        0x1DE66D2A,
        0x79FF467A,
        0x9BB9F8A3,
        0x217E7CD2,
        0x83E13D2C,
        0xF8D4474F,
        0xE39EB970,
        0x42C6AE16,
        0x993216FA,
        0x7B093B5D,
        0x98DAFF3C,
        0xF718902A,
        0x0B1C9CDB,
        0xE58F764B,
        0x187636BC,
        0x5D7B3BB1,
        0xE73DE7DE,
        0x92BEC979,
        0xCCA6C0B2,
        0x304A0979,
        0x85AA43D4,
        0x783125BB,
        0x6CA8EAA2,
        0xE407EAC6,
        0x4B5CFC3E,
        0x9FBF8C76,
        0x15CA20BE,
        0xF2CA9FD3,
        0x959BD756,
    ],
    dtype=np.uint32,
)


def page_checksums(block: bytes | memoryview, first_blkno: int) -> np.ndarray:
    """The checksum PostgreSQL would compute for each whole page in ``block``."""
    n = len(block) // PAGE
    words = np.frombuffer(block, dtype="<u4", count=n * PAGE // 4).reshape(n, 64, 32)
    # Row-major by page row: each of the 64 rounds then reads one contiguous (n, 32) slab.
    rows = words.transpose(1, 0, 2).copy()  # C order: a writable, contiguous copy
    rows[0, :, 2] &= np.uint32(0xFFFF0000)  # pd_checksum (bytes 8-9) counts as zero
    sums = np.tile(BASE_OFFSETS, (n, 1))
    tmp = np.empty_like(sums)
    shifted = np.empty_like(sums)
    shift = np.uint32(17)
    # One FNV-1a-like round: tmp = sums ^ value; sums = tmp * prime ^ (tmp >> 17) — in place.
    for row in range(64):
        np.bitwise_xor(sums, rows[row], out=tmp)
        np.multiply(tmp, FNV_PRIME, out=sums)
        np.right_shift(tmp, shift, out=shifted)
        np.bitwise_xor(sums, shifted, out=sums)
    for _ in range(2):  # two more rounds with zero
        np.multiply(sums, FNV_PRIME, out=tmp)
        np.right_shift(sums, shift, out=shifted)
        np.bitwise_xor(tmp, shifted, out=sums)
    folded = np.bitwise_xor.reduce(sums, axis=1)
    folded ^= np.arange(first_blkno, first_blkno + n, dtype=np.uint64).astype(np.uint32)
    return (folded % np.uint32(65535) + np.uint32(1)).astype(np.uint16)  # type: ignore[no-any-return]


def suspicious_pages(block: bytes | memoryview, first_blkno: int, start_lsn: int) -> list[int]:
    """Indexes (within ``block``) of pages whose stored checksum is wrong, ignoring new
    (all-zero header) pages and pages modified since ``start_lsn``."""
    n = len(block) // PAGE
    if n == 0:
        return []
    pages = np.frombuffer(block, dtype=np.uint8, count=n * PAGE).reshape(n, PAGE)
    header = pages[:, :24].copy().view("<u2").reshape(n, 12)
    stored = header[:, 4]
    upper = header[:, 7]
    lsn_words = pages[:, :8].copy().view("<u4").reshape(n, 2)
    lsn = (lsn_words[:, 0].astype(np.uint64) << np.uint64(32)) | lsn_words[:, 1].astype(np.uint64)
    computed = page_checksums(block, first_blkno)
    bad = (computed != stored) & (upper != 0) & (lsn < np.uint64(start_lsn))
    return [int(i) for i in np.nonzero(bad)[0]]


def segment_number(path_name: str) -> int:
    """``16384.2`` -> 2: the 1 GiB segment a relation file holds."""
    _, _, seg = path_name.partition(".")
    return int(seg) if seg.isdigit() else 0


class PageChecker:
    """Checks the pages of one relation file block by block as the backup reads it."""

    def __init__(self, path: str, name: str, start_lsn: int) -> None:
        self.path = path
        self.base_blkno = segment_number(name) * RELSEG_PAGES
        self.start_lsn = start_lsn
        self.bad_blocks: list[int] = []

    def __call__(self, offset: int, block: bytes | memoryview) -> None:
        first = self.base_blkno + offset // PAGE
        for i in suspicious_pages(block, first, self.start_lsn):
            # A torn read of a page being written looks corrupt: read it once more.
            again = _pread(self.path, offset + i * PAGE)
            if len(again) == PAGE and not suspicious_pages(again, first + i, self.start_lsn):
                continue
            self.bad_blocks.append(first + i)


def _pread(path: str, offset: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, PAGE, offset)
    finally:
        os.close(fd)
