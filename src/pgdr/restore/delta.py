"""Delta restore: bring an existing data directory to exactly the state of a backup while
rewriting only what differs.

Each file is compared chunk by chunk against the backup manifest with the repository's
keyed BLAKE3 (the blob id of the local chunk is recomputed and compared with the stored
id), so a single changed 32 KiB chunk costs one blob fetch, not the whole 1 GiB segment.
Everything the manifest does not list is removed (stale WAL in pg_wal, files of dropped
relations, an old recovery.signal, pgdr_prefetch). ``global/pg_control`` is deleted first
and written last, so a delta interrupted half-way leaves a directory PostgreSQL refuses to
start rather than a silently inconsistent cluster; rerunning the delta finishes the job.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgdr.errors import PostgresError, UsageError
from pgdr.pg.osuser import pid_alive
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Manifest, Repository

PG_CONTROL = "global/pg_control"


@dataclass
class DeltaStats:
    files: int = 0  # regular files in the backup
    files_changed: int = 0  # files with at least one chunk rewritten (or created)
    bytes: int = 0  # bytes of all files in the backup
    bytes_written: int = 0  # bytes fetched from the repository and written
    removed: int = 0  # entries removed because the backup does not have them


def check_delta_target(data_dir: Path) -> None:
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


def delta_restore(
    repo: Repository,
    manifest: Manifest,
    dest: Path,
    link_target: Callable[[dict[str, Any]], Path],
    created_spaces: list[Path],
    progress: Callable[[int, int], None] | None = None,
) -> DeltaStats:
    files: list[dict[str, Any]] = manifest.doc["files"]
    stats = DeltaStats()
    control = dest / PG_CONTROL
    if control.exists() or control.is_symlink():
        control.unlink()  # an interrupted delta must not leave a startable directory
    wanted = {f["path"]: f for f in files}
    stats.removed = _remove_extras(dest, wanted)
    # Directories and tablespace links first, then the files (pg_control last).
    for f in files:
        path = dest / f["path"]
        if f["kind"] == "dir":
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()
            path.mkdir(mode=0o700, exist_ok=True)
        elif f["kind"] == "link":
            target = link_target(f)
            if not (path.is_symlink() and Path(os.readlink(path)) == target):
                if path.is_symlink() or path.is_file():
                    path.unlink()
                elif path.is_dir():
                    shutil.rmtree(path)
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.symlink(target, path)
            created_spaces.append(target)
    regular = [f for f in files if f["kind"] == "file" and f["path"] != PG_CONTROL]
    regular += [f for f in files if f["kind"] == "file" and f["path"] == PG_CONTROL]
    total = sum(int(f["size"]) for f in regular)
    with BlobReader(repo) as reader, ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        # Comparing is CPU/IO bound and parallel; writing goes through the ordered reader.
        zeros: dict[int, bytes] = {}
        plans = pool.map(
            lambda f: (f, _changed_chunks(repo, manifest, dest, f, zeros)), regular[:-1]
        )
        done = 0
        for f, changed in _chain(plans, regular[-1:], repo, manifest, dest, zeros):
            stats.files += 1
            stats.bytes += int(f["size"])
            if changed:
                stats.files_changed += 1
                stats.bytes_written += _rewrite(reader, manifest, dest, f, changed)
            path = dest / f["path"]
            os.chmod(path, f["mode"] & 0o777)
            os.utime(path, (f["mtime"], f["mtime"]))
            done += int(f["size"])
            if progress:
                progress(done, total)
    return stats


def _chain(
    plans: Iterator[tuple[dict[str, Any], list[int]]],
    last: list[dict[str, Any]],
    repo: Repository,
    manifest: Manifest,
    dest: Path,
    zeros: dict[int, bytes],
) -> Iterator[tuple[dict[str, Any], list[int]]]:
    yield from plans
    for f in last:  # pg_control: compared only after everything else is written
        yield f, _changed_chunks(repo, manifest, dest, f, zeros)


def _remove_extras(dest: Path, wanted: dict[str, dict[str, Any]]) -> int:
    """Delete what the backup does not list; tablespace links are followed only when the
    backup has them (their contents are then compared like the rest)."""
    removed = 0

    def visit(d: Path, rel: str) -> None:
        nonlocal removed
        for name in sorted(os.listdir(d)):
            r = f"{rel}/{name}" if rel else name
            p = d / name
            want = wanted.get(r)
            st = p.lstat()
            is_link, is_dir = stat.S_ISLNK(st.st_mode), stat.S_ISDIR(st.st_mode)
            kind = "link" if is_link else "dir" if is_dir else "file"
            if want is None or want["kind"] != kind:
                if is_dir:
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed += 1
            elif is_dir or (is_link and rel == "pg_tblspc" and p.is_dir()):
                visit(p, r)

    visit(dest, "")
    return removed


def _changed_chunks(
    repo: Repository, manifest: Manifest, dest: Path, f: dict[str, Any], zeros: dict[int, bytes]
) -> list[int]:
    """Indexes of the chunks of ``f`` whose local bytes differ from the backup's."""
    start, count = f["refs"]
    path = dest / f["path"]
    if count == 0:
        return [] if path.is_file() and path.stat().st_size == 0 else [-1]
    chunk = int(f["chunk"])
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return list(range(count))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return list(range(count))
        changed = []
        for i in range(count):
            want = manifest.ref(start + i)
            n = min(chunk, int(f["size"]) - i * chunk)
            data = os.pread(fd, n, i * chunk)
            if len(data) != n or _id(repo, data, zeros) != want:
                changed.append(i)
        if os.fstat(fd).st_size != int(f["size"]) and not changed:
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


def _rewrite(
    reader: BlobReader, manifest: Manifest, dest: Path, f: dict[str, Any], changed: list[int]
) -> int:
    start, _count = f["refs"]
    chunk = int(f["chunk"]) if _count else 0
    path = dest / f["path"]
    if path.is_symlink() or (path.exists() and not path.is_file()):
        path.unlink()
    indexes = [i for i in changed if i >= 0]
    written = 0
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        blobs = reader.iter_read(manifest.ref(start + i) for i in indexes)
        for i, data in zip(indexes, blobs, strict=True):
            os.pwrite(fd, data, i * chunk)
            written += len(data)
        os.ftruncate(fd, int(f["size"]))
        os.fsync(fd)
    finally:
        os.close(fd)
    return written
