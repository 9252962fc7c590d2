"""What garbage collection sees: index entries as columns, which entry holds each live blob,
and which doomed packs must be spared because a reference still depends on them.

No I/O except through the ``scan`` callback. Decisions are made on NumPy arrays, so millions
of blobs cost array operations, not Python loops. Blob ids are ``S32`` arrays: comparisons use
all 32 bytes; only conversion to Python ``bytes`` drops trailing NULs, which ``blob_id``
restores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from pgdr.repo.format import ID_LEN
from pgdr.repo.index import IndexFile, Location
from pgdr.repo.pack import PACK_HEADER, RECORD_HEAD

#: Bytes a blob occupies in its pack besides its envelope (length u32 + blob id).
RECORD_OVERHEAD = RECORD_HEAD.size
PACK_OVERHEAD = len(PACK_HEADER)
NO_IDS = np.empty(0, dtype="S32")
Scan = Callable[[bytes], list[tuple[bytes, Location]]]


def blob_id(x: bytes) -> bytes:
    return bytes(x).ljust(ID_LEN, b"\0")


def id_array(ids: Iterable[bytes]) -> np.ndarray:
    """Sorted unique S32 array."""
    return np.unique(np.array(list(ids), dtype="S32")) if ids else NO_IDS


@dataclass
class Entries:
    """Index entries as columns; ``pack_no`` indexes ``pack_ids``."""

    ids: np.ndarray
    pack_no: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    raws: np.ndarray
    pack_ids: list[bytes]

    @classmethod
    def of(cls, files: Iterable[IndexFile]) -> Entries:
        numbers: dict[bytes, int] = {}
        rows: list[np.ndarray] = []
        packs: list[np.ndarray] = []
        for f in files:
            remap = np.array([numbers.setdefault(p, len(numbers)) for p in f.packs], np.int64)
            if len(f.entries):
                rows.append(f.entries)
                packs.append(remap[f.entries["pack"].astype(np.int64)])
        if not rows:
            z = np.empty(0, np.int64)
            return cls(NO_IDS, z, z, z, z, list(numbers))
        r = np.concatenate(rows)
        return cls(
            r["id"].view("S32").ravel().copy(),
            np.concatenate(packs),
            r["offset"].astype(np.int64),
            r["length"].astype(np.int64),
            r["raw"].astype(np.int64),
            list(numbers),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, mask: np.ndarray) -> Entries:
        return Entries(
            self.ids[mask],
            self.pack_no[mask],
            self.offsets[mask],
            self.lengths[mask],
            self.raws[mask],
            self.pack_ids,
        )

    def in_packs(self, packs: set[bytes]) -> np.ndarray:
        """Mask of the entries whose pack is in ``packs``."""
        member = np.array([p in packs for p in self.pack_ids] + [False], dtype=bool)
        mask: np.ndarray = member[self.pack_no]
        return mask

    def packs_used(self) -> set[bytes]:
        return {self.pack_ids[int(n)] for n in np.unique(self.pack_no)}

    def location(self, i: int) -> Location:
        return Location(
            self.pack_ids[int(self.pack_no[i])],
            int(self.offsets[i]),
            int(self.lengths[i]),
            int(self.raws[i]),
        )

    def items(self) -> list[tuple[bytes, Location]]:
        return [(blob_id(self.ids[i]), self.location(i)) for i in range(len(self.ids))]

    def record_bytes(self) -> np.ndarray:
        return self.lengths + RECORD_OVERHEAD


def live_entries(active: Entries, refs: np.ndarray, present: set[bytes]) -> np.ndarray:
    """Mask of the one entry that holds each referenced blob: a blob stored twice (two
    writers raced) lives in the first pack that exists; its other copies are garbage."""
    if not len(active):
        return np.zeros(0, bool)
    exists = active.in_packs(present)
    order = np.lexsort((np.arange(len(active)), ~exists, active.ids))
    first = np.ones(len(order), bool)
    first[1:] = active.ids[order][1:] != active.ids[order][:-1]
    chosen = np.zeros(len(active), bool)
    chosen[order[first]] = True
    return chosen & np.isin(active.ids, refs)


@dataclass
class Sparing:
    """Doomed packs that must stay, and index entries that must be (re)written for them."""

    spared: set[bytes]
    rescue: list[tuple[bytes, Location]]
    #: Referenced blobs found nowhere (damage that predates this collection).
    missing: int


def spare(
    refs: np.ndarray,
    active: Entries,
    every: Entries,
    present: set[bytes],
    doomed: set[bytes],
    scan: Scan,
    also_safe: np.ndarray = NO_IDS,
) -> Sparing:
    """Which ``doomed`` packs hold a referenced blob that no surviving pack holds.

    ``active``: entries of the index objects readers use; ``every``: entries of all index
    objects present, superseded ones included; ``also_safe``: blobs already copied elsewhere
    (repacking). A referenced blob counts as safe when an active entry places it in a
    present pack that is not doomed. For every other referenced blob the doomed pack that
    holds it is spared; if no active entry names it there, a rescue entry is returned so
    that an index object can name it before the retired ones are deleted.
    """
    safe_mask = active.in_packs(present - doomed)
    safe = np.union1d(active.ids[safe_mask], also_safe)
    need = np.setdiff1d(refs, safe)
    if not len(need):
        return Sparing(set(), [], 0)
    candidates = doomed & present
    holders = every.select(every.in_packs(candidates) & np.isin(every.ids, need))
    found: dict[bytes, tuple[bytes, Location]] = {}
    for bid, loc in holders.items():
        found.setdefault(bid, (bid, loc))
    remaining = np.setdiff1d(need, id_array(found))
    if len(remaining):
        for pack in sorted(candidates - every.packs_used()):  # unindexed: read them
            for bid, loc in scan(pack):
                if bid not in found and np.isin(np.array([bid], "S32"), remaining)[0]:
                    found[bid] = (bid, loc)
    spared = {loc.pack_id for _, loc in found.values()}
    named = np.unique(active.ids) if len(active) else NO_IDS
    rescue = [
        (bid, loc) for bid, loc in found.values() if not np.isin(np.array([bid], "S32"), named)[0]
    ]
    return Sparing(spared, rescue, int(len(need) - len(found)))
