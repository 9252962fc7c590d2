"""Writing files from blobs: the pipeline a restore spends its time in.

The main thread walks the files in order, finds each blob's place (file and offset: the
sizes are in the index, so no blob is read to learn where the next one goes), opens each
file as it is reached and hands spans of consecutive blobs (``BlobReader.spans``) to the
reader's threads. A thread fetches its span with one ranged read, authenticates and
decompresses every blob (zstd, AES-GCM and BLAKE3 work on whole buffers) and writes runs of
consecutive blobs with ONE positioned ``pwritev`` each, so both cores fetch, decrypt,
decompress and write at once and no file is written chunk by chunk. Zero blobs are never
read nor written: the file is extended to its size with ``ftruncate`` and they stay holes
(PostgreSQL and ``cmp`` read zeros there). A file is closed, and ``done`` called, in the
main thread once every span that holds a piece of it is written; nothing is fsynced unless
asked (a restore syncs each file system once at the end).

On any failure (a damaged blob, a full disk) the spans not started are cancelled, the ones
running are awaited and every descriptor is closed before the error reaches the caller, who
removes the partial files.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pgdr.repo.reader import BlobReader, Span, is_zero

MAX_OPEN = 256  # files held open by spans in flight; the window waits above this
FILES_PER_JOB = 64  # a span of many small files is cut so that few are open at once
IOV_MAX = 1024  # buffers per pwritev (Linux's UIO_MAXIOV)


@dataclass
class _Job:
    span: Span
    places: list[tuple[int, int]]  # (descriptor, offset) of each blob of the span
    finishes: list[int] = field(default_factory=list)  # files complete once this job is


@dataclass
class _File:
    path: Path
    count: int  # blobs
    offsets: list[int] | None = None  # where each blob goes; None: one after the other
    final: int | None = None  # the file's size; None: the sum of its blobs
    fd: int = -1
    size: int = 0  # bytes of the blobs placed so far


def write_files(
    reader: BlobReader,
    files: Iterable[tuple[Path, list[bytes]]],
    *,
    sparse: bool = True,
    done: Callable[[Path, int], None] | None = None,
    fsync: bool = False,
    opener: Callable[[Path], int] | None = None,
) -> list[int]:
    """Write each ``(path, blob ids)`` file; returns their sizes, in order."""
    files = list(files)
    plan = [_File(path, len(ids)) for path, ids in files]
    ids = [bid for _path, blob_ids in files for bid in blob_ids]
    return _write_all(reader, plan, ids, sparse, done, fsync, opener, None)


def write_chunks(
    reader: BlobReader,
    files: Iterable[tuple[Path, list[tuple[int, bytes]], int]],
    opener: Callable[[Path], int],
    *,
    settle: Callable[[Path, int], None] | None = None,
    done: Callable[[Path, int], None] | None = None,
) -> list[int]:
    """Rewrite chunks in place (a delta restore): for each ``(path, [(offset, blob id)],
    size)`` the blobs are written where given (zero blobs as zeros: the file has data
    there), then the file is cut to ``size`` and ``settle(path, fd)`` runs before it is
    closed. Returns the bytes written per file."""
    plan, ids = [], []
    for path, chunks, size in files:
        plan.append(_File(path, len(chunks), [off for off, _bid in chunks], size))
        ids += [bid for _off, bid in chunks]
    return _write_all(reader, plan, ids, False, done, False, opener, settle)


def _write_all(
    reader: BlobReader,
    plan: list[_File],
    ids: list[bytes],
    sparse: bool,
    done: Callable[[Path, int], None] | None,
    fsync: bool,
    opener: Callable[[Path], int] | None,
    settle: Callable[[Path, int], None] | None,
) -> list[int]:
    open_fds: dict[int, _File] = {}

    def open_file(f: _File) -> None:
        if opener is not None:
            f.fd = opener(f.path)
        else:
            f.fd = os.open(f.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        open_fds[f.fd] = f

    def finish(n: int) -> None:
        f = plan[n]
        try:
            # trailing holes, and a file shorter than before
            os.ftruncate(f.fd, f.size if f.final is None else f.final)
            if settle is not None:
                settle(f.path, f.fd)
            if fsync:
                os.fsync(f.fd)
        finally:
            del open_fds[f.fd]
            os.close(f.fd)
        if done is not None:
            done(f.path, f.size)

    window: deque[tuple[Future[None], _Job]] = deque()
    try:
        for job in _jobs(reader, plan, ids, open_file):
            window.append((reader.submit(partial(_write, reader, job, sparse)), job))
            while window and (len(window) >= reader.workers * 2 or len(open_fds) > MAX_OPEN):
                _retire(window.popleft(), finish)
        while window:
            _retire(window.popleft(), finish)
    except BaseException:
        for fut, _job in window:
            fut.cancel()
        wait([fut for fut, _job in window])
        for fd in open_fds:
            os.close(fd)
        raise
    return [f.size for f in plan]


def _retire(item: tuple[Future[None], _Job], finish: Callable[[int], None]) -> None:
    fut, job = item
    fut.result()
    for n in job.finishes:
        finish(n)


def _jobs(
    reader: BlobReader, plan: list[_File], ids: list[bytes], open_file: Callable[[_File], None]
) -> Iterator[_Job]:
    """Spans with the place of each blob; each file opened when its first blob is placed
    and listed in ``finishes`` of the job that places its last (or of the next job)."""
    n = -1  # file being placed
    left = 0  # its blobs still to place
    ended: list[int] = []  # complete, waiting for a job to carry them

    def advance() -> None:
        nonlocal n, left
        while left == 0 and n + 1 < len(plan):
            n += 1
            left = plan[n].count
            open_file(plan[n])
            if left == 0:
                ended.append(n)

    advance()
    for span in reader.spans(ids):
        job = _Job(Span(span.pack_id), [])
        opened = 0
        for blob in span.blobs:
            f = plan[n]
            job.span.blobs.append(blob)
            job.places.append((f.fd, f.size if f.offsets is None else f.offsets[-left]))
            f.size += blob[2]
            left -= 1
            if left == 0:
                ended.append(n)
                advance()
                opened += 1
                if opened >= FILES_PER_JOB:
                    job.finishes, ended = ended, []
                    yield _bounded(job)
                    job, opened = _Job(Span(span.pack_id), []), 0
        if job.places or ended:
            job.finishes, ended = ended, []
            yield _bounded(job)
    if ended:
        yield _Job(Span(None), [], ended)


def _bounded(job: _Job) -> _Job:
    """The job's span narrowed to the byte range of the blobs it kept."""
    locs = [loc for _bid, loc, _n in job.span.blobs if loc is not None]
    if locs:
        job.span.start = min(loc.offset for loc in locs)
        job.span.end = max(loc.offset + loc.length for loc in locs)
    return job


def _write(reader: BlobReader, job: _Job, sparse: bool) -> None:
    span = job.span
    if span.pack_id is None:  # zero blobs: holes, or zeros written
        if sparse:
            return
        blobs = [_zeros(n) for _bid, _loc, n in span.blobs]
    else:
        blobs = reader.read_span(span)
    run: list[bytes] = []
    run_fd, run_at, run_end = -1, 0, 0
    for (fd, offset), data in zip(job.places, blobs, strict=True):
        if sparse and is_zero(data):
            continue
        if run and (fd != run_fd or offset != run_end or len(run) >= IOV_MAX):
            _pwritev_all(run_fd, run, run_at)
            run = []
        if not run:
            run_fd, run_at, run_end = fd, offset, offset
        run.append(data)
        run_end += len(data)
    if run:
        _pwritev_all(run_fd, run, run_at)


def _pwritev_all(fd: int, bufs: list[bytes], offset: int) -> None:
    total = sum(len(b) for b in bufs)
    written = os.pwritev(fd, bufs, offset)
    if written == total:
        return
    rest = memoryview(b"".join(bufs))[written:]  # a short write: finish it piecewise
    offset += written
    while rest:
        n = os.pwrite(fd, rest, offset)
        rest, offset = rest[n:], offset + n


_ZEROS: dict[int, bytes] = {}


def _zeros(n: int) -> bytes:
    z = _ZEROS.get(n)
    if z is None:
        z = _ZEROS[n] = bytes(n)
    return z
