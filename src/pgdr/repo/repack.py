"""Copying live blobs out of packs into new packs (garbage collection and rekey).

Blobs are moved as sealed envelopes: each is authenticated and, when it was sealed with an
older data key, re-encrypted under the current one (``Sealer.reseal``: no decompression).
So every pack GC writes holds blobs of one data key. A source pack is read whole and its
name checked against its content first; a damaged pack is not repacked (its blobs stay
where they are, for ``repo verify`` to report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from pgdr.errors import IntegrityError
from pgdr.repo import format as fmt
from pgdr.repo.format import ObjectType
from pgdr.repo.index import Location
from pgdr.repo.pack import PackBuilder, pack_id_of
from pgdr.repo.repository import Repository

log = logging.getLogger(__name__)


class RepackCounters(Protocol):
    """What a repack counts, in the caller's report (``gc.GcReport``)."""

    blobs_moved: int
    packs_written: int
    bytes_written: int
    #: Source packs not repacked because they are damaged (their keys).
    damaged: list[str]


class PackSink:
    """Fills new packs with sealed blobs and uploads each as soon as it is full."""

    def __init__(self, repo: Repository, stats: RepackCounters) -> None:
        self.repo = repo
        self.stats = stats
        self._pack = PackBuilder()
        self.items: list[tuple[bytes, Location]] = []

    def add(self, blob_id: bytes, envelope: bytes, raw_length: int) -> None:
        self._pack.add(blob_id, envelope, raw_length)
        if self._pack.size >= self.repo.config.pack_size:
            self._upload()

    def finish(self) -> list[tuple[bytes, Location]]:
        """Upload the last pack; every returned location is durable."""
        if len(self._pack):
            self._upload()
        return self.items

    def _upload(self) -> None:
        pack, self._pack = self._pack, PackBuilder()
        pack_id, data = pack.finish()
        self.repo.backend.put(fmt.pack_key(pack_id), data)
        self.stats.packs_written += 1
        self.stats.bytes_written += len(data)
        for bid, off, length, raw in pack.entries:
            self.items.append((bid, Location(pack_id, off, length, raw)))


def repack(
    repo: Repository,
    moves: dict[bytes, list[tuple[bytes, Location]]],
    stats: RepackCounters,
) -> tuple[list[tuple[bytes, Location]], set[bytes]]:
    """Copy the given blobs (by source pack) into new packs. Returns the new locations and
    the source packs that could not be read intact (left alone)."""
    sink = PackSink(repo, stats)
    damaged: set[bytes] = set()
    for pack_id, blobs in sorted(moves.items()):
        key = fmt.pack_key(pack_id)
        data = repo.backend.get(key)
        try:
            if pack_id_of(data) != pack_id:
                raise IntegrityError(f"{key}: content does not match its name (damaged)")
            sealed = [_reseal(repo, data, bid, loc, key) for bid, loc in blobs]
        except IntegrityError as e:
            log.warning("not repacking %s: %s", key, e.message)
            stats.damaged.append(key)
            damaged.add(pack_id)
            continue
        for (bid, loc), envelope in zip(blobs, sealed, strict=True):
            sink.add(bid, envelope, loc.raw_length)
            stats.blobs_moved += 1
    return sink.finish(), damaged


def _reseal(repo: Repository, data: bytes, blob_id: bytes, loc: Location, key: str) -> bytes:
    envelope = memoryview(data)[loc.offset : loc.offset + loc.length]
    return repo.sealer.reseal(envelope, blob_id, f"{key}@{loc.offset}", ObjectType.BLOB)


def scan_locations(repo: Repository, pack_id: bytes) -> list[tuple[bytes, Location]]:
    """Every intact record of a pack as (blob id, location): for packs no index names."""
    from pgdr.repo.pack import scan_pack

    key = fmt.pack_key(pack_id)
    data = repo.backend.get(key)
    out: list[tuple[bytes, Location]] = []
    try:
        for rec in scan_pack(data, key):
            plain = repo.open_blob(
                rec.blob_id, memoryview(data)[rec.offset : rec.offset + rec.length], key
            )
            out.append((rec.blob_id, Location(pack_id, rec.offset, rec.length, len(plain))))
    except IntegrityError as e:
        log.warning("%s: %s", key, e.message)
    return out


def group_by_pack(
    items: Iterable[tuple[bytes, Location]],
) -> dict[bytes, list[tuple[bytes, Location]]]:
    out: dict[bytes, list[tuple[bytes, Location]]] = {}
    for bid, loc in items:
        out.setdefault(loc.pack_id, []).append((bid, loc))
    return out
