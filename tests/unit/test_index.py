"""The blob index: exact lookups, compact memory (<= 64 bytes per blob), file round trip."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pgdr.errors import IntegrityError
from pgdr.repo.index import ENTRY_DTYPE, BlobIndex, IndexFile, Location

pytestmark = pytest.mark.unit


def random_entries(n: int, packs: int = 100) -> IndexFile:
    e = np.zeros(n, ENTRY_DTYPE)
    e["id"] = np.frombuffer(os.urandom(32 * n), "V32")
    e["pack"] = np.arange(n) % packs
    e["offset"] = np.arange(n)
    e["length"] = 100
    e["raw"] = 65536
    return IndexFile([os.urandom(32) for _ in range(packs)], e, [])


def test_memory_per_blob_is_at_most_64_bytes() -> None:
    n = 1_000_000
    idx = BlobIndex()
    idx.load(b"i" * 32, random_entries(n))
    per_entry = (idx._entries.nbytes + idx._keys.nbytes + idx._order.nbytes) / n
    assert per_entry <= 64, per_entry


def test_lookups_are_exact_even_with_shared_prefixes() -> None:
    pack = os.urandom(32)
    prefix = os.urandom(8)
    ids = [prefix + os.urandom(24) for _ in range(50)] + [os.urandom(32) for _ in range(500)]
    items = [(bid, Location(pack, i, 10, 20)) for i, bid in enumerate(ids)]
    idx = BlobIndex()
    half = len(items) // 2
    idx.load(b"a" * 32, IndexFile.decode(IndexFile.build(items[:half]).encode(), "a"))
    idx.load(b"b" * 32, IndexFile.decode(IndexFile.build(items[half:]).encode(), "b"))
    idx.add(b"n" * 32, Location(pack, 1, 2, 3))
    for bid, loc in items:
        assert idx.get(bid) == loc
    assert idx.get(prefix + bytes(24)) is None
    assert idx.get(b"n" * 32) == Location(pack, 1, 2, 3)
    # The vectorized lookups agree with the exact one, prefix collisions and misses included.
    probe = [bid for bid, _ in items] + [prefix + bytes(24), b"n" * 32, os.urandom(32)]
    assert idx.get_many(probe) == [idx.get(b) for b in probe]
    assert idx.has_many(probe) == [idx.get(b) is not None for b in probe]
    idx.compact()
    assert idx.get(b"n" * 32) == Location(pack, 1, 2, 3) and len(idx) == len(items) + 1
    assert idx.get_many(probe) == [idx.get(b) for b in probe]
    assert BlobIndex().get_many(probe[:3]) == [None] * 3 and BlobIndex().has_many([]) == []


def test_damaged_index_files_are_rejected() -> None:
    data = IndexFile.build([(os.urandom(32), Location(os.urandom(32), 0, 1, 1))]).encode()
    with pytest.raises(IntegrityError):
        IndexFile.decode(data[:-1], "x")
    with pytest.raises(IntegrityError):
        IndexFile.decode(b"XXXX" + data[4:], "x")
    bad = bytearray(data)
    bad[-16] = 9  # pack number (16 bytes before the end of the last entry) out of range
    with pytest.raises(IntegrityError):
        IndexFile.decode(bytes(bad), "x")
