"""Where a restore writes: the data directory and each tablespace's directory, every one a
``pgdr.safefs.Tree`` (0700, given to the server's OS user before anything is written in it,
written through descriptors without following links). Manifest entries are the ones
``pgdr.restore.safety.check_files`` returned; ``pg_tblspc/<oid>/...`` entries are written
inside that tablespace's directory, never through the link."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pgdr.catalog.manifest import FileEntry
from pgdr.errors import ObjectNotFound, UsageError
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Manifest, Repository
from pgdr.safefs import Tree

Owner = tuple[int, int] | None


class Targets:
    def __init__(self, main: Tree) -> None:
        self.main = main
        self.spaces: dict[str, Tree] = {}  # "pg_tblspc/<oid>" -> the tablespace's directory

    def locate(self, path: str) -> tuple[Tree, str]:
        """The tree that holds manifest entry ``path`` and the path inside it."""
        head = "/".join(path.split("/", 2)[:2])
        space = self.spaces.get(head)
        if space is not None and path != head:
            return space, path[len(head) + 1 :]
        return self.main, path

    def open_space(self, link: str, location: Path) -> Tree:
        tree = Tree.open(location, self.main.owner, create=True)
        self.spaces[link] = tree
        return tree

    def close(self) -> None:
        for tree in (self.main, *self.spaces.values()):
            tree.close()


def tablespace_dir(entry: FileEntry, mapping: dict[str, str]) -> Path:
    """Where pg_tblspc/<oid> points after the restore: mapped by --tablespace-map (old path or
    oid), else the original location."""
    oid = entry.path.rsplit("/", 1)[-1]
    return Path(mapping.get(entry.target) or mapping.get(oid) or entry.target)


def _new_tablespace(
    targets: Targets, entry: FileEntry, mapping: dict[str, str], created: list[Path]
) -> None:
    """pg_tblspc/<oid> -> its directory, which must be new or empty."""
    oid = entry.path.rsplit("/", 1)[-1]
    location = tablespace_dir(entry, mapping)
    if location.exists() and any(location.iterdir()):
        raise UsageError(
            f"tablespace {oid} would be restored into {location}, which is not empty; "
            f"map it elsewhere with --tablespace-map {entry.target}=NEW_DIR"
        )
    targets.open_space(entry.path, location)
    created.append(location)
    targets.main.symlink(entry.path, str(location))


def materialize(
    repo: Repository,
    entries: list[FileEntry],
    manifest: Manifest,
    targets: Targets,
    tablespace_map: dict[str, str],
    created_spaces: list[Path],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    expected = sum(e.size for e in entries if e.kind == "file")
    regular: dict[Path, FileEntry] = {}
    for e in entries:  # directories and tablespace links first: files are written into them
        if e.kind == "dir":
            tree, rel = targets.locate(e.path)
            tree.mkdir(rel)
        elif e.kind == "link":
            _new_tablespace(targets, e, tablespace_map, created_spaces)
        elif e.kind == "file":
            regular[Path(e.path)] = e
    total = 0

    def create(path: Path) -> int:
        tree, rel = targets.locate(regular[path].path)
        return tree.create(rel, regular[path].mode)

    def settle(path: Path, fd: int) -> None:  # on a reader thread, after the last write
        mtime = regular[path].file_mtime
        os.utime(fd, (mtime, mtime))

    def finished(path: Path, size: int) -> None:
        nonlocal total
        total += size
        if progress:
            progress(total, expected)

    refs = manifest.refs
    with BlobReader(repo) as reader:
        reader.write_files(
            (
                (path, [refs[i * 32 : i * 32 + 32] for i in range(s, s + c)])
                for path, (s, c) in ((p, e.refs) for p, e in regular.items())
            ),
            done=finished,
            fsync=False,  # the caller syncs the file systems once
            opener=create,
            settle=settle,
        )
    return len(regular), total


def write_new(tree: Tree, rel: str, data: bytes) -> None:
    with open(tree.create(rel, 0o600), "wb") as f:
        f.write(data)


def append(tree: Tree, rel: str, text: str) -> None:
    fd = tree.open_regular(rel, os.O_WRONLY | os.O_APPEND)
    with open(fd if fd is not None else tree.create(rel, 0o600), "a") as f:
        f.write(text)


#: Threads fetching WAL for the restored server: a fetch waits on storage and decrypts and
#: decompresses outside the GIL; each holds one file in memory.
PLACE_WAL_THREADS = 4


def place_wal(
    repo: Repository, tree: Tree, spool: str, names: list[str], absent: Sequence[str] = ()
) -> int:
    """Put WAL files recovery will ask for where restore_command's shell finds them
    (``<spool>/prefetch/<name>``), fetched in parallel and created like every other restored
    file, and an empty ``<spool>/absent/<name>`` for each name of ``absent`` (known not to be
    archived). Not fsynced one by one: the caller syncs the file system. Returns how many
    files were placed (a name that is not archived is skipped: recovery asks for it)."""
    from pgdr.catalog.wal import check_wal_name, read

    for sub in ("", "/prefetch", "/absent", "/served"):
        tree.mkdir(f"{spool}{sub}")
    for name in absent:
        write_new(tree, f"{spool}/absent/{check_wal_name(name)}", b"")

    def place(name: str) -> int:
        try:
            data = read(repo, check_wal_name(name))
        except ObjectNotFound:
            return 0
        write_new(tree, f"{spool}/prefetch/{name}", data)
        return 1

    with ThreadPoolExecutor(max_workers=PLACE_WAL_THREADS) as pool:
        return sum(pool.map(place, names))
