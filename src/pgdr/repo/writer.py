"""The streaming store API: chunks in, blob ids out, deduplicated against everything stored.

Work is spread over threads: keyed BLAKE3, zstd and AES-GCM run per chunk in a pool (zstd
releases the GIL), sealed blobs go into packs, full packs upload on a separate I/O pool.
Write order: a pack is uploaded before any index names it; ``flush`` writes the index for
every uploaded pack; only then may a caller write a manifest (``commit_manifest``).

Garbage collection (docs/design.md §10): a writer MUST hold a lock (shared) before it creates
a BlobWriter; the writer then lists GC's deletion plans and never deduplicates against a
planned pack (such a blob is stored again).
"""

from __future__ import annotations

import errno
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pgdr.repo import format as fmt
from pgdr.repo.format import ObjectType
from pgdr.repo.index import Location
from pgdr.repo.pack import PackBuilder
from pgdr.repo.plans import planned_packs
from pgdr.repo.repository import Repository

Inspector = Callable[[int, bytes], None]


@dataclass
class WriteStats:
    blobs_new: int = 0
    blobs_dedup: int = 0
    bytes_raw: int = 0  # all bytes offered
    bytes_new_raw: int = 0  # bytes of new blobs before compression
    bytes_stored: int = 0  # pack bytes uploaded
    packs: int = 0
    index_files: int = 0


@dataclass(frozen=True)
class _FileBlock:
    """One block of a file, read by the worker that hashes it (``pread`` releases the GIL,
    so reading spreads over the workers instead of queueing in the dispatching thread)."""

    fd: int
    offset: int
    size: int
    hole: bool  # lies entirely in a hole of a sparse file: zeros, not read
    chunk_size: int
    inspect: Inspector | None


@dataclass
class StoredData:
    """The result of storing one stream: its blob ids in order and its total size."""

    ids: bytearray = field(default_factory=bytearray)
    size: int = 0

    def id_list(self) -> list[bytes]:
        return [bytes(self.ids[i : i + fmt.ID_LEN]) for i in range(0, len(self.ids), fmt.ID_LEN)]


class BlobWriter:
    def __init__(
        self,
        repo: Repository,
        *,
        workers: int | None = None,
        pack_size: int | None = None,
        upload_workers: int = 4,
        index_every_packs: int = 8,
    ) -> None:
        self.repo = repo
        self._planned = planned_packs(repo.backend)  # after our lock: see docs/design.md §10
        self.index = repo.index
        self.stats = WriteStats()
        self._workers = workers or os.cpu_count() or 2
        self._pack_size = pack_size or repo.config.pack_size
        self._index_every = index_every_packs
        self._cpu = ThreadPoolExecutor(self._workers, thread_name_prefix="pgdr-seal")
        self._io = ThreadPoolExecutor(upload_workers, thread_name_prefix="pgdr-upload")
        self._inflight = threading.BoundedSemaphore(upload_workers + 1)
        self._lock = threading.Lock()
        self._claimed: set[bytes] = set()
        self._pack = PackBuilder()
        self._uploads: list[Future[None]] = []
        self._unindexed: list[tuple[bytes, Location]] = []
        self._packs_since_index = 0
        self._zero_ids: dict[int, bytes] = {}

    # --- public API ---------------------------------------------------------------------

    def store_chunks(self, chunks: Iterable[bytes | memoryview]) -> StoredData:
        """Store chunks given one by one (grouped into batches for the workers)."""
        return self._store_batches(_group(chunks, BATCH_BYTES))

    def store_stream(self, f: BinaryIO, chunk_size: int) -> StoredData:
        """Store a stream cut into ``chunk_size`` pieces (the last one may be shorter)."""
        block = max(chunk_size, BATCH_BYTES // chunk_size * chunk_size)
        return self._store_batches(_views(b, chunk_size) for b in _read_blocks(f, block))

    def store_file(
        self, path: str | Path, chunk_size: int, inspect: Inspector | None = None
    ) -> StoredData:
        """Store a file; holes of sparse files are not read at all. ``inspect(offset,
        block)`` sees every block exactly as it is stored (e.g. to verify page checksums); it
        runs on the worker threads, concurrently and in any order, so it must be thread-safe.
        Inspected files are read in blocks of INSPECT_BATCH_BYTES: the page checksums'
        NumPy rounds cost per call, not per byte, at 1 MiB."""
        batch = INSPECT_BATCH_BYTES if inspect is not None else BATCH_BYTES
        block = max(chunk_size, batch // chunk_size * chunk_size)
        fd = os.open(path, os.O_RDONLY)
        try:
            return self._store_batches(
                _FileBlock(fd, offset, n, hole, chunk_size, inspect)
                for offset, n, hole in _file_blocks(fd, block)
            )
        finally:
            os.close(fd)

    def _store_batches(
        self, batches: Iterable[_FileBlock | list[memoryview] | list[bytes | memoryview]]
    ) -> StoredData:
        out = StoredData()
        window: deque[Future[tuple[list[tuple[bytes, bytes | None, int]], bool]]] = deque()
        limit = self._workers * 2
        complete = True  # False after a file block read short (the file shrank meanwhile)

        def accept(future: Future[tuple[list[tuple[bytes, bytes | None, int]], bool]]) -> None:
            nonlocal complete
            items, whole = future.result()
            # Blocks after a short one are still packed (their ids may be claimed) but not
            # referenced: the stream ends where the file ended.
            self._accept(items, out if complete else None)
            complete = complete and whole

        try:
            for batch in batches:
                window.append(self._cpu.submit(self._prepare, batch))
                if len(window) >= limit:
                    accept(window.popleft())
            while window:
                accept(window.popleft())
        finally:  # never leave a worker reading a file descriptor the caller closes
            for f in window:
                f.cancel()
            for f in window:
                if not f.cancelled():
                    f.exception()
        return out

    def store_blob(self, data: bytes) -> bytes:
        return bytes(self.store_chunks([data]).ids)

    def flush(self) -> None:
        """Upload the open pack, wait for all uploads, index everything uploaded.
        After flush returns, every id handed out so far is durable and indexed."""
        if len(self._pack):
            self._submit_pack()
        self._wait_uploads()
        self._write_index()

    def commit_manifest(
        self, kind: str, manifest_id: str, doc: dict[str, Any], refs: bytes | bytearray = b""
    ) -> str:
        self.flush()
        return self.repo.put_manifest(kind, manifest_id, doc, bytes(refs))

    def close(self) -> None:
        self._cpu.shutdown(wait=True, cancel_futures=True)
        self._io.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- pipeline -----------------------------------------------------------------------

    def _prepare(
        self, batch: _FileBlock | Sequence[bytes | memoryview]
    ) -> tuple[list[tuple[bytes, bytes | None, int]], bool]:
        whole = True
        if isinstance(batch, _FileBlock):
            data = (
                _zeros(batch.size) if batch.hole else os.pread(batch.fd, batch.size, batch.offset)
            )
            whole = len(data) == batch.size
            if batch.inspect is not None:
                batch.inspect(batch.offset, data)
            chunks: Sequence[bytes | memoryview] = _views(data, batch.chunk_size)
        else:
            chunks = batch
        ids = [self._zero_id(c) or self.repo.blob_id(c) for c in chunks]
        fresh = []
        stored = self.index.has_many(ids)
        if self._planned:  # GC plans to delete some packs: never deduplicate against them
            stored = [known and self._stored(bid) for bid, known in zip(ids, stored, strict=True)]
        with self._lock:
            for bid, known in zip(ids, stored, strict=True):
                new = not known and bid not in self._claimed
                if new:
                    self._claimed.add(bid)
                fresh.append(new)
        seal = self.repo.sealer.seal
        return [
            (bid, seal(ObjectType.BLOB, c, bid) if new else None, len(c))
            for bid, c, new in zip(ids, chunks, fresh, strict=True)
        ], whole

    def _stored(self, bid: bytes) -> bool:
        loc = self.index.get(bid)
        return loc is not None and loc.pack_id not in self._planned

    def _zero_id(self, chunk: bytes | memoryview) -> bytes | None:
        # Holes in sparse files and zeroed pages are common: skip hashing them. (NumPy, not
        # ``chunk == zeros``: comparing a memoryview goes element by element, ~30x slower.)
        n = len(chunk)
        if n == 0 or chunk[0] != 0 or chunk[-1] != 0 or np.frombuffer(chunk, np.uint8).any():
            return None
        zid = self._zero_ids.get(n)
        if zid is None:
            zid = self._zero_ids[n] = self.repo.blob_id(bytes(n))
        return zid

    def _accept(self, items: list[tuple[bytes, bytes | None, int]], out: StoredData | None) -> None:
        for bid, envelope, n in items:
            if out is not None:
                out.ids += bid
                out.size += n
            self.stats.bytes_raw += n
            if envelope is None:
                self.stats.blobs_dedup += 1
                continue
            self.stats.blobs_new += 1
            self.stats.bytes_new_raw += n
            self._pack.add(bid, envelope, n)
            if self._pack.size >= self._pack_size:
                self._submit_pack()

    def _submit_pack(self) -> None:
        self._raise_failed_uploads()
        pack, self._pack = self._pack, PackBuilder()
        self._inflight.acquire()
        try:
            self._uploads.append(self._io.submit(self._upload, pack))
        except BaseException:
            self._inflight.release()
            raise

    def _upload(self, pack: PackBuilder) -> None:
        try:
            pack_id, data = pack.finish()
            self.repo.backend.put(fmt.pack_key(pack_id), data)
            with self._lock:
                for bid, off, length, raw in pack.entries:
                    loc = Location(pack_id, off, length, raw)
                    self.index.add(bid, loc)
                    self._unindexed.append((bid, loc))
                    self._claimed.discard(bid)
                self.stats.bytes_stored += len(data)
                self.stats.packs += 1
                self._packs_since_index += 1
                due = self._packs_since_index >= self._index_every
            if due:
                self._write_index()
        finally:
            self._inflight.release()

    def _write_index(self) -> None:
        with self._lock:
            items, self._unindexed = self._unindexed, []
            self._packs_since_index = 0
        if not items:
            return
        try:
            self.repo.write_index(items)
        except BaseException:
            with self._lock:
                self._unindexed = items + self._unindexed
            raise
        with self._lock:
            self.stats.index_files += 1

    def _raise_failed_uploads(self) -> None:
        pending = []
        for fut in self._uploads:
            if fut.done():
                fut.result()  # raises the upload's error
            else:
                pending.append(fut)
        self._uploads = pending

    def _wait_uploads(self) -> None:
        uploads, self._uploads = self._uploads, []
        errors = []
        for fut in uploads:
            try:
                fut.result()
            except BaseException as e:
                errors.append(e)
        if errors:
            raise errors[0]


BATCH_BYTES = 1 << 20  # work handed to a worker at once: amortizes per-task overhead
# Blocks of files whose pages are checked (pgdr.backup.checksums): storing pgbench scale 50
# random filler's base/ with checksums took 1.69-1.95 s (2.99-3.33 s CPU) at 1 MiB and
# 1.53-1.78 s (2.68-3.13 s) at 2 MiB, six interleaved runs each; 4 MiB was no better, and
# without checksums 2 MiB gained nothing (so other files keep BATCH_BYTES).
INSPECT_BATCH_BYTES = 2 << 20


def _read_blocks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """Blocks of exactly ``size`` bytes (the last may be shorter), despite short reads."""
    while True:
        block = f.read(size)
        if not block:
            return
        while len(block) < size:
            more = f.read(size - len(block))
            if not more:
                break
            block += more
        yield block


_ZERO_BLOCKS: dict[int, bytes] = {}


def _views(block: bytes, chunk_size: int) -> list[memoryview]:
    """``block`` cut into ``chunk_size`` pieces (the last may be shorter), without copying."""
    return [memoryview(block)[i : i + chunk_size] for i in range(0, len(block), chunk_size)]


def _zeros(n: int) -> bytes:
    zeros = _ZERO_BLOCKS.get(n)
    if zeros is None:
        zeros = _ZERO_BLOCKS[n] = bytes(n)
    return zeros


def _file_blocks(fd: int, size: int) -> Iterator[tuple[int, int, bool]]:
    """``(offset, length, in_a_hole)`` of the blocks of a regular file as of its size at the
    start; a block lying entirely in a hole is not read at all."""
    end = os.fstat(fd).st_size
    pos = 0
    while pos < end:
        n = min(size, end - pos)
        try:
            data_at = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:  # ENXIO: no data after pos; other errors: just read
            # ENXIO also means pos is past the end: a file that shrank since the start
            # (VACUUM truncating a relation) is read, so the block reads short and the stored
            # stream ends there, never padded with zeros as if it were a hole
            hole = e.errno == errno.ENXIO and os.fstat(fd).st_size > pos
            data_at = end if hole else pos
        yield pos, n, data_at >= pos + n
        pos += n


def _group(chunks: Iterable[bytes | memoryview], target: int) -> Iterator[list[bytes | memoryview]]:
    batch: list[bytes | memoryview] = []
    size = 0
    for c in chunks:
        batch.append(c)
        size += len(c)
        if size >= target:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
