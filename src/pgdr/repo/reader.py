"""Reading blobs back: parallel, ordered, every blob authenticated and its id re-checked.

Blobs that lie next to each other in a pack (a backup stores a file's chunks in order, so a
restore reads them in order) are fetched with ONE ranged read of up to ``SPAN_BYTES`` — on S3
that is one GET for hundreds of blobs instead of one each. Blobs whose id is that of an
all-zero chunk are never fetched: they are produced (or written as holes) directly.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from pgdr.errors import IntegrityError, ObjectNotFound
from pgdr.repo import format as fmt
from pgdr.repo.index import Location
from pgdr.repo.repository import Repository

SPAN_BYTES = 8 << 20  # one ranged read covers at most this much of a pack
SPAN_GAP = 256 << 10  # blobs this close together are read in one range (the gap is wasted)
#: Chunk sizes whose all-zero blob id is worth knowing: every cut backups use or used
#: (pgdr.backup.chunking: 128 KiB relation chunks, 1 MiB others; 32 KiB before issue 14).
ZERO_SIZES = (8192, 32 * 1024, 128 * 1024, 1 << 20)
R = TypeVar("R")


@dataclass
class Span:
    """Consecutive blobs of one pack read with one ranged get (or zero blobs: no read)."""

    pack_id: bytes | None  # None: every blob is a known zero blob
    start: int = 0
    end: int = 0
    blobs: list[tuple[bytes, Location | None, int]] = field(default_factory=list)


class BlobReader:
    def __init__(self, repo: Repository, *, workers: int | None = None) -> None:
        self.repo = repo
        self._workers = workers or max(4, (os.cpu_count() or 2) * 2)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="pgdr-read")
        self._zeros = {repo.blob_id(bytes(n)): n for n in ZERO_SIZES}

    def read(self, blob_id: bytes) -> bytes:
        return self.repo.read_blob(blob_id)

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, fn: Callable[[], R]) -> Future[R]:
        """Run ``fn`` on the reader's threads (the file writer's per-span work)."""
        return self._pool.submit(fn)

    def iter_read(self, ids: Iterable[bytes]) -> Iterator[bytes]:
        """Blobs in the order given, fetched ahead in parallel, adjacent ones together."""
        window: deque[Future[list[bytes]]] = deque()
        for span in self.spans(ids):
            window.append(self._pool.submit(self.read_span, span))
            if len(window) >= self._workers * 2:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()

    def write_file(
        self,
        ids: Iterable[bytes],
        path: str | Path,
        *,
        sparse: bool = True,
        opener: Callable[[Path], int] | None = None,
    ) -> int:
        """Write blobs to a file; returns its size. Zero blobs become holes when ``sparse``.
        The file is fsynced before returning."""
        ids = list(ids)
        return self.write_files([(Path(path), ids)], sparse=sparse, opener=opener)[0]

    def write_files(
        self,
        files: Iterable[tuple[Path, list[bytes]]],
        *,
        sparse: bool = True,
        done: Callable[[Path, int], None] | None = None,
        fsync: bool = True,
        opener: Callable[[Path], int] | None = None,
        settle: Callable[[Path, int], None] | None = None,
    ) -> list[int]:
        """Write many files from one ordered stream of blobs (``pgdr.repo.filewriter``):
        fetching, decrypting and writing run in parallel across file boundaries. Returns
        the sizes. With ``fsync=False`` the caller makes the files durable (e.g. one
        ``syncfs``). ``opener`` creates each file and returns its descriptor (a restore
        creates them without following links, ``pgdr.safefs``); ``settle(path, fd)`` runs
        after a file's last write, before it is closed (on any thread)."""
        from pgdr.repo.filewriter import write_files

        return write_files(
            self, files, sparse=sparse, done=done, fsync=fsync, opener=opener, settle=settle
        )

    def _located(self, ids: Iterable[bytes]) -> Iterator[tuple[bytes, Location | None]]:
        index = self.repo.index
        batch: list[bytes] = []
        for bid in ids:
            batch.append(bid)
            if len(batch) >= 4096:
                yield from zip(batch, index.get_many(batch), strict=True)
                batch = []
        yield from zip(batch, index.get_many(batch), strict=True)

    def spans(self, ids: Iterable[bytes]) -> Iterator[Span]:
        """The blobs of ``ids`` in order, grouped into spans read with one ranged get."""
        span: Span | None = None
        for bid, loc in self._located(ids):
            zero = self._zeros.get(bid)
            if zero is not None:
                if span is None or span.pack_id is not None:
                    if span is not None:
                        yield span
                    span = Span(None)
                span.blobs.append((bid, None, zero))
                continue
            if loc is None:
                raise IntegrityError(f"blob {bid.hex()} is not in the index")
            end = loc.offset + loc.length
            if (
                span is None
                or span.pack_id != loc.pack_id
                or not (span.start <= loc.offset <= span.end + SPAN_GAP)
                or max(span.end, end) - span.start > SPAN_BYTES
            ):
                if span is not None:
                    yield span
                span = Span(loc.pack_id, loc.offset, end)
            span.end = max(span.end, end)
            span.blobs.append((bid, loc, loc.raw_length))
        if span is not None:
            yield span

    def read_span(self, span: Span) -> list[bytes]:
        """The plaintexts of a span's blobs, each authenticated and its id re-checked."""
        return list(self.iter_span(span))

    def iter_span(self, span: Span) -> Iterator[bytes]:
        """``read_span`` one blob at a time: each is decoded when the caller wants it (a
        writer copies it out while it is still in the CPU's cache)."""
        if span.pack_id is None:
            yield from (bytes(n) for _bid, _loc, n in span.blobs)
            return
        key = fmt.pack_key(span.pack_id)
        try:
            data = memoryview(self.repo.backend.get(key, span.start, span.end - span.start))
        except ObjectNotFound:
            # Garbage collection repacked these blobs after we loaded the index: read each
            # where it is now (read_blob reloads the index once, docs/design.md §9).
            yield from (self.repo.read_blob(bid) for bid, _loc, _n in span.blobs)
            return
        for bid, loc, _n in span.blobs:
            assert loc is not None
            rel = loc.offset - span.start
            piece = data[rel : rel + loc.length]
            if len(piece) != loc.length:
                raise IntegrityError(f"{key}@{loc.offset}: pack is shorter than its index says")
            yield self.repo.open_blob(bid, piece, f"{key}@{loc.offset}")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_zero(data: bytes) -> bool:
    return (
        len(data) > 0 and data[0] == 0 and data[-1] == 0 and not np.frombuffer(data, np.uint8).any()
    )
