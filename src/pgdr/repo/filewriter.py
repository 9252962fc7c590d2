"""Writing files from blobs: the pipeline a restore spends its time in.

The calling thread only plans: it walks the files in order and finds each blob's place (file
and offset: the sizes are in the index, so no blob is read to learn where the next one goes),
cutting the blobs into jobs along the spans of ``BlobReader.spans``. The reader's threads do
everything else, so both cores fetch, decrypt, decompress and write at once: a thread fetches
its span with one ranged read, authenticates and decompresses every blob (AES-GCM, zstd,
BLAKE3 and ``pwritev`` all release the GIL) and writes each run of consecutive blobs with
ONE positioned ``pwritev``. A file that lies within one job (nearly all files of a data
directory) is created, written, cut to its size, settled and closed by that job's thread;
only a file spread over several jobs is opened and closed by the calling thread (in order,
once every job holding a piece of it is done). The calling thread makes few system calls
on purpose: on a busy machine each one can wait for the GIL behind the workers.

Zero blobs are never read nor written: the file is extended with ``ftruncate`` and they stay
holes (PostgreSQL and ``cmp`` read zeros there). Nothing is fsynced unless asked (a restore
syncs each file system once). On any failure (a damaged blob, a full disk) the jobs not
started are cancelled, the running ones awaited and every descriptor closed before the error
reaches the caller, who removes the partial files.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pgdr.repo.reader import BlobReader, Span, is_zero

MAX_OPEN = 256  # files opened by the caller for jobs in flight; the window waits above this
FILES_PER_JOB = 64  # a span of many small files is cut so that jobs stay small
IOV_MAX = 1024  # buffers per pwritev (Linux's UIO_MAXIOV)
# A run is written once it holds this much: large enough for few system calls, small enough
# that the kernel copies blobs still in the CPU's cache (writing whole 8 MiB spans at once
# made the page-cache copy ten times slower on a loaded 2-core machine: measured with perf).
RUN_BYTES = 256 << 10

Opener = Callable[[Path], int]
Settle = Callable[[Path, int], None]


@dataclass(eq=False)
class _File:
    path: Path
    count: int  # blobs
    offsets: list[int] | None = None  # where each blob goes; None: one after the other
    final: int | None = None  # the file's size; None: the sum of its blobs
    fd: int = -1
    size: int = 0  # bytes of the blobs placed so far

    @property
    def length(self) -> int:
        return self.size if self.final is None else self.final


@dataclass(eq=False)
class _Job:
    span: Span
    places: list[tuple[_File, int]] = field(default_factory=list)  # each blob's file, offset
    own: list[_File] = field(default_factory=list)  # files this job creates and closes
    finishes: list[_File] = field(default_factory=list)  # complete once this job is, in order


@dataclass(frozen=True)
class _Rules:
    sparse: bool
    fsync: bool
    opener: Opener
    settle: Settle | None


def write_files(
    reader: BlobReader,
    files: Iterable[tuple[Path, list[bytes]]],
    *,
    sparse: bool = True,
    done: Callable[[Path, int], None] | None = None,
    fsync: bool = False,
    opener: Opener | None = None,
    settle: Settle | None = None,
) -> list[int]:
    """Write each ``(path, blob ids)`` file; returns their sizes, in order. ``settle(path,
    fd)`` runs (on any thread) after the last write, before the file is closed; ``done``
    runs in the calling thread, in order."""
    files = list(files)
    plan = [_File(path, len(ids)) for path, ids in files]
    ids = [bid for _path, blob_ids in files for bid in blob_ids]
    rules = _Rules(sparse, fsync, opener or _create, settle)
    return _write_all(reader, plan, ids, rules, done)


def write_chunks(
    reader: BlobReader,
    files: Iterable[tuple[Path, list[tuple[int, bytes]], int]],
    opener: Opener,
    *,
    settle: Settle | None = None,
    done: Callable[[Path, int], None] | None = None,
) -> list[int]:
    """Rewrite chunks in place (a delta restore): for each ``(path, [(offset, blob id)],
    size)`` the blobs are written where given (zero blobs as zeros: the file has data
    there), then the file is cut to ``size`` and settled. Returns the bytes written."""
    plan, ids = [], []
    for path, chunks, size in files:
        plan.append(_File(path, len(chunks), [off for off, _bid in chunks], size))
        ids += [bid for _off, bid in chunks]
    return _write_all(reader, plan, ids, _Rules(False, False, opener, settle), done)


def _create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)


def _write_all(
    reader: BlobReader,
    plan: list[_File],
    ids: list[bytes],
    rules: _Rules,
    done: Callable[[Path, int], None] | None,
) -> list[int]:
    shared: set[_File] = set()  # opened here for jobs in flight

    def retire(item: tuple[Future[None], _Job]) -> None:
        fut, job = item
        fut.result()
        for f in job.finishes:
            if f in shared:
                shared.discard(f)
                _finish(f, rules)
            if done is not None:
                done(f.path, f.size)

    window: deque[tuple[Future[None], _Job]] = deque()
    try:
        for job in _jobs(reader, plan, ids):
            for f in {f for f, _off in job.places if f not in job.own and f.fd < 0}:
                f.fd = rules.opener(f.path)
                shared.add(f)
            window.append((reader.submit(partial(_run, reader, job, rules)), job))
            while window and (len(window) >= reader.workers * 2 or len(shared) > MAX_OPEN):
                retire(window.popleft())
        while window:
            retire(window.popleft())
    except BaseException:
        for fut, _job in window:
            fut.cancel()
        wait([fut for fut, _job in window])
        for f in shared:
            os.close(f.fd)
        raise
    return [f.size for f in plan]


def _jobs(reader: BlobReader, plan: list[_File], ids: list[bytes]) -> Iterator[_Job]:
    """Jobs of consecutive blobs with the place of each; a file that starts and ends in
    one job is that job's own, and every file is listed in ``finishes`` of the job that
    places its last blob (an empty file: of the next job)."""
    n = -1  # file being placed
    left = 0  # its blobs still to place
    ended: list[_File] = []  # complete, waiting for a job to carry them

    def advance() -> None:
        nonlocal n, left
        while left == 0 and n + 1 < len(plan):
            n += 1
            left = plan[n].count
            if left == 0:
                ended.append(plan[n])

    def cut(job: _Job) -> _Job:
        nonlocal ended
        job.finishes, ended = ended, []
        here = Counter(id(f) for f, _off in job.places)
        job.own = [f for f in job.finishes if here[id(f)] == f.count]  # wholly in this job
        return _bounded(job)

    advance()
    for span in reader.spans(ids):
        job = _Job(Span(span.pack_id))
        for blob in span.blobs:
            f = plan[n]
            job.span.blobs.append(blob)
            job.places.append((f, f.size if f.offsets is None else f.offsets[-left]))
            f.size += blob[2]
            left -= 1
            if left == 0:
                ended.append(f)
                advance()
                if len(ended) >= FILES_PER_JOB:
                    yield cut(job)
                    job = _Job(Span(span.pack_id))
        if job.places or ended:
            yield cut(job)
    if ended:
        yield cut(_Job(Span(None)))


def _bounded(job: _Job) -> _Job:
    """The job's span narrowed to the byte range of the blobs it kept."""
    locs = [loc for _bid, loc, _n in job.span.blobs if loc is not None]
    if locs:
        job.span.start = min(loc.offset for loc in locs)
        job.span.end = max(loc.offset + loc.length for loc in locs)
    return job


def _run(reader: BlobReader, job: _Job, rules: _Rules) -> None:
    """One job on a reader thread: create its own files, write, finish its own files."""
    opened: list[_File] = []
    try:
        for f in job.own:
            f.fd = rules.opener(f.path)
            opened.append(f)
        _write(reader, job, rules.sparse)
        while opened:
            _finish(opened.pop(0), rules)
    finally:
        for f in opened:
            os.close(f.fd)


def _finish(f: _File, rules: _Rules) -> None:
    try:
        os.ftruncate(f.fd, f.length)  # trailing holes, and a file shorter than before
        if rules.settle is not None:
            rules.settle(f.path, f.fd)
        if rules.fsync:
            os.fsync(f.fd)
    finally:
        os.close(f.fd)


def _write(reader: BlobReader, job: _Job, sparse: bool) -> None:
    span = job.span
    blobs: Iterable[bytes]
    if not span.blobs:
        return
    if span.pack_id is None:  # zero blobs: holes, or zeros written
        if sparse:
            return
        blobs = [_zeros(n) for _bid, _loc, n in span.blobs]
    else:
        blobs = reader.iter_span(span)
    run: list[bytes] = []
    run_file, run_at, run_end = job.places[0][0], 0, 0
    for (f, offset), data in zip(job.places, blobs, strict=True):
        if sparse and is_zero(data):
            continue
        if run and (f is not run_file or offset != run_end):
            _pwritev_all(run_file, run, run_at)
            run = []
        if not run:
            run_file, run_at, run_end = f, offset, offset
        run.append(data)
        run_end += len(data)
        if run_end - run_at >= RUN_BYTES or len(run) >= IOV_MAX:
            _pwritev_all(run_file, run, run_at)
            run = []
    if run:
        _pwritev_all(run_file, run, run_at)


def _pwritev_all(f: _File, bufs: list[bytes], offset: int) -> None:
    total = sum(len(b) for b in bufs)
    with _WRITING:
        written = os.pwritev(f.fd, bufs, offset)
        if written == total:
            return
        rest = memoryview(b"".join(bufs))[written:]  # a short write: finish it piecewise
        offset += written
        while rest:
            n = os.pwrite(f.fd, rest, offset)
            rest, offset = rest[n:], offset + n


# One write at a time: the threads decode in parallel, but page-cache copies made at once by
# both cores cost two to three times the CPU of the same copies made one after the other
# (perf on a loaded 2-core machine: copy_folio_from_iter_atomic 25-30% of all samples with
# four writers, 10% with one).
_WRITING = threading.Lock()

_ZEROS: dict[int, bytes] = {}


def _zeros(n: int) -> bytes:
    z = _ZEROS.get(n)
    if z is None:
        z = _ZEROS[n] = bytes(n)
    return z
