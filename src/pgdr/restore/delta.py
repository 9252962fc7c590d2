"""Delta restore: bring an existing data directory to exactly the state of a backup while
rewriting only what differs.

Each file is compared chunk by chunk against the backup manifest with the repository's
keyed BLAKE3 (the blob id of the local chunk is recomputed and compared with the stored
id), so a single changed chunk costs one blob fetch, not the whole 1 GiB segment.
Everything the manifest does not list is removed (stale WAL in pg_wal, files of dropped
relations, an old recovery.signal; pgdr_prefetch is emptied by the restore before it places
WAL there, after any prefetcher left running let go of it). ``global/pg_control`` is deleted first
and written last, so a delta interrupted half-way leaves a directory PostgreSQL refuses to
start rather than a silently inconsistent cluster; rerunning the delta finishes the job.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgdr.catalog.manifest import FileEntry
from pgdr.errors import PostgresError, UsageError
from pgdr.localfs import pid_alive, sync_filesystem
from pgdr.proc import PREFETCHER_LOCK, wait_unheld
from pgdr.repo.filewriter import write_chunks
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Manifest, Repository
from pgdr.restore.commands import PREFETCH_DIR
from pgdr.restore.targets import Targets
from pgdr.safefs import Tree

PG_CONTROL = "global/pg_control"


@dataclass
class DeltaStats:
    files: int = 0  # regular files in the backup
    files_changed: int = 0  # files with at least one chunk rewritten (or created)
    bytes: int = 0  # bytes of all files in the backup
    bytes_written: int = 0  # bytes fetched from the repository and written
    removed: int = 0  # entries removed because the backup does not have them


PREFETCHER_WAIT_S = 120.0


def check_delta_target(data_dir: Path, prefetcher_wait_s: float = PREFETCHER_WAIT_S) -> None:
    """Refuse a directory a running server uses, or one that is not a data directory."""
    if not data_dir.is_dir():
        raise UsageError(f"--delta needs an existing data directory; {data_dir} does not exist")
    entries = os.listdir(data_dir)
    if entries and "PG_VERSION" not in entries and "global" not in entries:
        raise UsageError(
            f"{data_dir} is not empty and does not look like a PostgreSQL data directory; "
            "--delta refuses to rewrite it"
        )
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (ValueError, OSError):
            pid = 0
        if pid > 0 and pid_alive(pid):
            raise PostgresError(
                f"PostgreSQL (pid {pid}) is running on {data_dir}; stop it before a delta restore"
            )
        pid_file.unlink()  # stale: left by a crash
    # A WAL prefetcher the stopped server started may still be fetching into pgdr_prefetch/,
    # which the delta removes: wait for it (it fetches a few segments, then exits).
    spool = data_dir / PREFETCH_DIR
    if not spool.is_symlink() and not wait_unheld(spool / PREFETCHER_LOCK, prefetcher_wait_s):
        raise UsageError(
            f"a pgdr WAL prefetcher still writes into {spool} after {prefetcher_wait_s:.0f} s; "
            "stop it (pkill -f wal-prefetcher) and run the delta restore again"
        )


def delta_restore(
    repo: Repository,
    manifest: Manifest,
    entries: list[FileEntry],
    targets: Targets,
    link_target: Callable[[FileEntry], Path],
    created_spaces: list[Path],
    progress: Callable[[int, int], None] | None = None,
    keep: frozenset[str] = frozenset(),
) -> DeltaStats:
    """``entries`` as checked by ``pgdr.restore.safety``; everything is reached through
    ``targets`` (``pgdr.safefs``): a link placed in the directory is removed, never followed.
    ``keep``: top-level names the delta leaves alone although the backup does not have them
    (``pgdr_prefetch``, which the restore emptied and fills with WAL meanwhile)."""
    stats = DeltaStats()
    main = targets.main
    if _is_dir(main, "global"):
        main.remove(PG_CONTROL)  # an interrupted delta must not leave a startable directory
    wanted = {f.path: f for f in entries}
    links = {f.path: str(link_target(f)) for f in entries if f.kind == "link"}
    stats.removed = _remove_extras(main, "", "", wanted, links, keep)
    # Directories and tablespace links first, then the files (pg_control last).
    for f in entries:
        if f.kind == "dir":
            tree, rel = targets.locate(f.path)
            if not _is_dir(tree, rel):
                tree.remove(rel)
            tree.mkdir(rel)
        elif f.kind == "link":
            location = links[f.path]
            if main.readlink(f.path) != location:
                main.remove(f.path)
                main.symlink(f.path, location)
            space = targets.open_space(f.path, Path(location))
            created_spaces.append(Path(location))
            stats.removed += _remove_extras(space, "", f.path, wanted, links)
    regular = [f for f in entries if f.kind == "file" and f.path != PG_CONTROL]
    control = [f for f in entries if f.kind == "file" and f.path == PG_CONTROL]
    total = sum(f.size for f in (*regular, *control))
    done = 0

    def count(f: FileEntry) -> None:
        nonlocal done
        done += f.size
        if progress:
            progress(done, total)

    with BlobReader(repo) as reader, ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        zeros: dict[int, bytes] = {}
        # Comparing is CPU/IO bound and parallel; then every changed chunk goes through the
        # reader's parallel writing pipeline (pgdr.repo.filewriter) at once.
        plans = list(
            pool.map(lambda f: (f, _changed_chunks(repo, manifest, targets, f, zeros)), regular)
        )
        _apply(reader, manifest, targets, plans, stats, count)
        # Everything else durable before pg_control is compared and written: a crash
        # before this point leaves a directory PostgreSQL refuses to start.
        for place in {targets.main.path, *(t.path for t in targets.spaces.values())}:
            sync_filesystem(place)
        last = [(f, _changed_chunks(repo, manifest, targets, f, zeros)) for f in control]
        _apply(reader, manifest, targets, last, stats, count, fsync=True)
    return stats


def _apply(
    reader: BlobReader,
    manifest: Manifest,
    targets: Targets,
    plans: list[tuple[FileEntry, list[int]]],
    stats: DeltaStats,
    count: Callable[[FileEntry], None],
    *,
    fsync: bool = False,
) -> None:
    """Settle unchanged files; rewrite the changed chunks of the others (the files made
    anew when missing or not a plain file), cut each to its size, mode, owner and time set
    through its descriptor."""
    by_path: dict[Path, FileEntry] = {}
    whole: set[Path] = set()  # every chunk differs (or the file is missing): may be made anew
    rewrites: list[tuple[Path, list[tuple[int, bytes]], int]] = []
    for f, changed in plans:
        stats.files += 1
        stats.bytes += f.size
        tree, rel = targets.locate(f.path)
        if not changed:
            _settle(tree, rel, f)
            count(f)
            continue
        stats.files_changed += 1
        path = Path(f.path)
        by_path[path] = f
        start, n = f.refs
        if changed == (list(range(n)) or [-1]):
            whole.add(path)
        chunks = [(i * f.chunk, manifest.ref(start + i)) for i in changed if i >= 0]
        rewrites.append((path, chunks, f.size))

    def open_file(path: Path) -> int:
        f = by_path[path]
        tree, rel = targets.locate(f.path)
        fd = tree.open_regular(rel, os.O_RDWR)
        if fd is not None:
            return fd
        if path not in whole:  # it was a plain file when compared: only some chunks planned
            raise UsageError(f"{tree.path / rel} changed during the delta restore; run it again")
        # missing, a link, not a regular file or a hard link: made anew
        tree.remove(rel)
        return tree.create(rel, f.mode, read=True)

    def settle(path: Path, fd: int) -> None:
        f = by_path[path]
        _settle_fd(targets.locate(f.path)[0], fd, f)
        if fsync:
            os.fsync(fd)

    def written(path: Path, n: int) -> None:
        stats.bytes_written += n
        count(by_path[path])

    write_chunks(reader, rewrites, open_file, settle=settle, done=written)


def _is_dir(tree: Tree, rel: str) -> bool:
    st = tree.lstat(rel)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _remove_extras(
    tree: Tree,
    rel: str,
    prefix: str,
    wanted: dict[str, FileEntry],
    links: dict[str, str],
    keep: frozenset[str] = frozenset(),
) -> int:
    """Delete what the backup does not list, never following a link: a tablespace link the
    backup has is kept only when it points where this restore puts the tablespace (its
    contents are visited from there by the caller)."""
    removed = 0
    for name, st in tree.scan(rel):
        r = f"{rel}/{name}" if rel else name
        full = f"{prefix}/{r}" if prefix else r
        if full in keep:
            continue
        want = wanted.get(full)
        is_link, is_dir = stat.S_ISLNK(st.st_mode), stat.S_ISDIR(st.st_mode)
        kind = "link" if is_link else "dir" if is_dir else "file"
        if want is None or want.kind != kind or (is_link and tree.readlink(r) != links[full]):
            tree.remove(r)
            removed += 1
        elif is_dir:
            removed += _remove_extras(tree, r, prefix, wanted, links)
    return removed


def _changed_chunks(
    repo: Repository,
    manifest: Manifest,
    targets: Targets,
    f: FileEntry,
    zeros: dict[int, bytes],
) -> list[int]:
    """Indexes of the chunks of ``f`` whose local bytes differ from the backup's; -1 alone:
    only the length, or the file is missing (or a link, or linked elsewhere too)."""
    start, count = f.refs
    tree, rel = targets.locate(f.path)
    fd = tree.open_regular(rel)
    if fd is None:
        return list(range(count)) or [-1]
    try:
        if count == 0:
            return [] if os.fstat(fd).st_size == 0 else [-1]
        chunk = f.chunk
        changed = []
        for i in range(count):
            want = manifest.ref(start + i)
            n = min(chunk, f.size - i * chunk)
            data = os.pread(fd, n, i * chunk)
            if len(data) != n or _id(repo, data, zeros) != want:
                changed.append(i)
        if os.fstat(fd).st_size != f.size and not changed:
            changed.append(-1)  # only the length differs: truncate
        return changed
    finally:
        os.close(fd)


def _id(repo: Repository, data: bytes, zeros: dict[int, bytes]) -> bytes:
    """The blob id of ``data``; zeroed chunks (common: holes, empty pages) skip hashing."""
    if data and data[0] == 0 and data[-1] == 0 and not np.frombuffer(data, np.uint8).any():
        zid = zeros.get(len(data))
        if zid is None:
            zid = zeros[len(data)] = repo.blob_id(data)
        return zid
    return repo.blob_id(data)


def _settle(tree: Tree, rel: str, f: FileEntry) -> None:
    """Mode, owner and time of an unchanged file, through its descriptor."""
    fd = tree.open_regular(rel)
    if fd is None:
        raise UsageError(f"{tree.path / rel} changed during the delta restore; run it again")
    try:
        _settle_fd(tree, fd, f)
    finally:
        os.close(fd)


def _settle_fd(tree: Tree, fd: int, f: FileEntry) -> None:
    os.fchmod(fd, f.mode)
    if tree.owner is not None:
        os.fchown(fd, *tree.owner)
    os.utime(fd, (f.file_mtime, f.file_mtime))
