"""The blob index: blob id -> (pack, offset, length, raw length).

Index objects (``index/<blake3 of the stored object>``, envelope type INDEX, context = key)
hold, after decryption:

    "PGDI" version u8, 3 reserved, n_packs u32, n_entries u32, n_supersedes u32
    supersedes: n_supersedes x 32-byte index ids this one replaces (compaction / rebuild)
    packs:      n_packs x 32-byte pack ids
    entries:    n_entries x 48 bytes: blob id (32), pack number u32, offset u32,
                length u32, raw length u32        (all little-endian)

In memory the loaded entries are one NumPy record array (48 bytes per entry) plus a sorted
uint64 key column (first 8 id bytes) and a uint32 order column pointing into the records:
60 bytes per blob, so 16 M blobs (1 TB at 64 KiB) take ~1 GB and load at memory speed.
Entries added in this process sit in a dict until ``compact`` merges them into the arrays.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from pgdr.errors import IntegrityError
from pgdr.repo.format import FORMAT_VERSION, ID_LEN

INDEX_MAGIC = b"PGDI"
INDEX_HEAD = struct.Struct("<4sB3xIII")
ENTRY_DTYPE = np.dtype(
    [("id", "V32"), ("pack", "<u4"), ("offset", "<u4"), ("length", "<u4"), ("raw", "<u4")]
)
assert ENTRY_DTYPE.itemsize == 48


@dataclass(frozen=True, slots=True)
class Location:
    pack_id: bytes
    offset: int
    length: int
    raw_length: int


@dataclass
class IndexFile:
    packs: list[bytes]
    entries: np.ndarray  # ENTRY_DTYPE
    supersedes: list[bytes]

    def encode(self) -> bytes:
        head = INDEX_HEAD.pack(
            INDEX_MAGIC, FORMAT_VERSION, len(self.packs), len(self.entries), len(self.supersedes)
        )
        return b"".join([head, *self.supersedes, *self.packs, self.entries.tobytes()])

    @classmethod
    def decode(cls, data: bytes, what: str) -> IndexFile:
        try:
            magic, version, n_packs, n_entries, n_sup = INDEX_HEAD.unpack_from(data, 0)
        except struct.error:
            raise IntegrityError(f"{what}: truncated index") from None
        if magic != INDEX_MAGIC or version > FORMAT_VERSION:
            raise IntegrityError(f"{what}: not a pgdr index (version {version})")
        pos = INDEX_HEAD.size
        need = pos + (n_sup + n_packs) * ID_LEN + n_entries * ENTRY_DTYPE.itemsize
        if len(data) != need:
            raise IntegrityError(f"{what}: index size {len(data)} does not match its header")
        ids = [data[pos + i * ID_LEN : pos + (i + 1) * ID_LEN] for i in range(n_sup + n_packs)]
        pos += (n_sup + n_packs) * ID_LEN
        entries = np.frombuffer(data, dtype=ENTRY_DTYPE, count=n_entries, offset=pos)
        if n_entries and int(entries["pack"].max()) >= n_packs:
            raise IntegrityError(f"{what}: entry refers to a pack number out of range")
        return cls(packs=ids[n_sup:], entries=entries, supersedes=ids[:n_sup])

    @classmethod
    def build(
        cls, items: Iterable[tuple[bytes, Location]], supersedes: Iterable[bytes] = ()
    ) -> IndexFile:
        packs: dict[bytes, int] = {}
        rows = []
        for blob_id, loc in items:
            pno = packs.setdefault(loc.pack_id, len(packs))
            rows.append((blob_id, pno, loc.offset, loc.length, loc.raw_length))
        entries = np.array(rows, dtype=ENTRY_DTYPE) if rows else np.empty(0, ENTRY_DTYPE)
        return cls(packs=list(packs), entries=entries, supersedes=list(supersedes))


def _keys_of(entries: np.ndarray) -> np.ndarray:
    """First 8 bytes of each id as a big-endian integer: numeric order = id order."""
    head = np.ascontiguousarray(entries.view(np.uint8).reshape(-1, ENTRY_DTYPE.itemsize)[:, :8])
    return head.view(">u8").ravel().astype(np.uint64)


def _key_of(blob_id: bytes) -> int:
    return int.from_bytes(blob_id[:8], "big")


class BlobIndex:
    """Thread-safe lookup over all loaded index files plus blobs added in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packs: list[bytes] = []
        self._pack_no: dict[bytes, int] = {}
        self._entries = np.empty(0, ENTRY_DTYPE)
        self._keys = np.empty(0, np.uint64)
        self._order = np.empty(0, np.uint32)
        self._new: dict[bytes, Location] = {}
        self.index_ids: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._entries) + len(self._new)

    def load(self, index_id: bytes, f: IndexFile) -> None:
        with self._lock:
            remap = np.array([self._intern(p) for p in f.packs], dtype=np.uint32)
            entries = f.entries.copy()
            if len(entries):
                entries["pack"] = remap[entries["pack"]]
            self._merge(entries)
            self.index_ids.add(index_id)

    def _intern(self, pack_id: bytes) -> int:
        n = self._pack_no.get(pack_id)
        if n is None:
            n = self._pack_no[pack_id] = len(self._packs)
            self._packs.append(pack_id)
        return n

    def _merge(self, entries: np.ndarray) -> None:
        # Entries are appended, never permuted (a gather over 48-byte rows is slow); the sorted
        # key column carries an order column that points into them.
        if not len(entries):
            return
        base = len(self._entries)
        keys = np.concatenate([self._keys, _keys_of(entries)])
        order = np.concatenate([self._order, np.arange(base, base + len(entries), dtype=np.uint32)])
        perm = np.argsort(keys)
        self._entries = np.concatenate([self._entries, entries])
        self._keys, self._order = keys[perm], order[perm]

    def add(self, blob_id: bytes, loc: Location) -> None:
        with self._lock:
            self._new[blob_id] = loc

    def compact(self) -> None:
        """Move blobs added in this process into the compact arrays."""
        with self._lock:
            if not self._new:
                return
            rows = [
                (bid, self._intern(loc.pack_id), loc.offset, loc.length, loc.raw_length)
                for bid, loc in self._new.items()
            ]
            self._merge(np.array(rows, dtype=ENTRY_DTYPE))
            self._new.clear()

    def get(self, blob_id: bytes) -> Location | None:
        loc = self._new.get(blob_id)
        if loc is not None:
            return loc
        keys, order, entries = self._keys, self._order, self._entries
        k = np.uint64(_key_of(blob_id))
        i = int(np.searchsorted(keys, k, side="left"))
        while i < len(keys) and keys[i] == k:
            row = entries[order[i]]
            if row["id"].tobytes() == blob_id:
                return Location(
                    self._packs[int(row["pack"])],
                    int(row["offset"]),
                    int(row["length"]),
                    int(row["raw"]),
                )
            i += 1
        return None

    def get_many(self, blob_ids: list[bytes]) -> list[Location | None]:
        """Locations of many ids at once (vectorized; a restore asks for millions)."""
        out: list[Location | None] = [self._new.get(b) for b in blob_ids]
        keys, order, entries = self._keys, self._order, self._entries
        if not blob_ids or not len(keys):
            return out
        wanted = np.frombuffer(b"".join(b[:8] for b in blob_ids), dtype=">u8").astype(np.uint64)
        pos = np.minimum(np.searchsorted(keys, wanted, side="left"), len(keys) - 1)
        rows = entries[order[pos]]
        hit = keys[pos] == wanted
        found_ids = rows["id"]
        packs, offs, lens, raws = (
            rows["pack"].tolist(),
            rows["offset"].tolist(),
            rows["length"].tolist(),
            rows["raw"].tolist(),
        )
        for i, bid in enumerate(blob_ids):
            if out[i] is not None or not hit[i]:
                continue
            if found_ids[i].tobytes() == bid:
                out[i] = Location(self._packs[packs[i]], offs[i], lens[i], raws[i])
            else:  # prefix collision or a blob indexed twice: the exact scan
                out[i] = self.get(bid)
        return out

    def has_many(self, blob_ids: list[bytes]) -> list[bool]:
        """Membership of many ids at once: one vectorized search instead of one per id (the
        writer asks for every chunk it stores)."""
        if not blob_ids:
            return []
        keys, order, entries = self._keys, self._order, self._entries
        out = [b in self._new for b in blob_ids]
        if not len(keys):
            return out
        wanted = np.frombuffer(b"".join(b[:8] for b in blob_ids), dtype=">u8").astype(np.uint64)
        pos = np.searchsorted(keys, wanted, side="left")
        inside = pos < len(keys)
        hit = np.zeros(len(blob_ids), dtype=bool)
        hit[inside] = keys[pos[inside]] == wanted[inside]
        ids = entries["id"]
        for i in np.nonzero(hit)[0]:
            if out[i]:
                continue
            # The first entry with this 8-byte key is almost always the blob itself; on a
            # prefix collision (or a blob indexed twice) fall back to the exact scan.
            if ids[order[pos[i]]].tobytes() == blob_ids[i]:
                out[i] = True
            else:
                out[i] = self.get(blob_ids[i]) is not None
        return out

    def __contains__(self, blob_id: bytes) -> bool:
        return self.get(blob_id) is not None

    def packs(self) -> set[bytes]:
        with self._lock:
            used = {self._packs[int(p)] for p in np.unique(self._entries["pack"])}
            return used | {loc.pack_id for loc in self._new.values()}

    def items(self) -> Iterator[tuple[bytes, Location]]:
        self.compact()
        for row in self._entries:
            yield (
                row["id"].tobytes(),
                Location(
                    self._packs[int(row["pack"])],
                    int(row["offset"]),
                    int(row["length"]),
                    int(row["raw"]),
                ),
            )

    def blob_ids(self) -> np.ndarray:
        """Sorted array of all blob ids as S32 (for reference checks)."""
        self.compact()
        return np.sort(self._entries["id"].view("S32"))
