"""File sets: plain files stored as a ``files`` manifest. The smallest real user of the
streaming API, and a template for backup manifests: each file is {path, size, mode, refs:
[start, count]} with refs indexing the manifest's blob table."""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

from pgdr.errors import UnsafeManifest, UsageError
from pgdr.repo.locks import LockManager
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter, WriteStats
from pgdr.safefs import Tree
from pgdr.safepath import file_mode, is_count, mode_problem, path_problem

KIND = "files"


def _walk(paths: list[Path]) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    out.append((f, f"{p.name}/{f.relative_to(p).as_posix()}"))
        elif p.is_file():
            out.append((p, p.name))
        else:
            raise UsageError(f"{p}: no such file or directory")
    return out


def store_files(
    repo: Repository, paths: list[Path], name: str, chunk_size: int
) -> tuple[WriteStats, int]:
    files = _walk(paths)
    with LockManager(repo.backend).acquire("shared", "store"), BlobWriter(repo) as w:
        refs = bytearray()
        entries: list[dict[str, Any]] = []
        for path, rel in files:
            start = len(refs) // 32
            stored = w.store_file(path, chunk_size)
            refs += stored.ids
            st = path.stat()
            entries.append(
                {
                    "path": rel,
                    "size": stored.size,
                    "mode": st.st_mode & 0o7777,
                    "mtime": st.st_mtime,
                    "refs": [start, len(stored.ids) // 32],
                }
            )
        doc = {"name": name, "created": time.time(), "chunk_size": chunk_size, "files": entries}
        w.commit_manifest(KIND, f"{name}", doc, refs)
        return w.stats, len(files)


def fetch_files(repo: Repository, name: str, dest: Path) -> tuple[int, int]:
    if name not in repo.list_manifests(KIND):
        raise UsageError(f"no file set named {name!r}; see `pgdr dev list`")
    if dest.exists():
        raise UsageError(f"{dest} already exists; give a new directory")
    m = repo.get_manifest(KIND, name)
    files = check_file_set(m.doc.get("files"), m.ref_count())  # before anything is written
    total = 0
    try:
        with BlobReader(repo) as r, Tree.open(dest, create=True) as tree:
            for f in files:
                parts = f["path"].split("/")
                for i in range(1, len(parts)):
                    tree.mkdir("/".join(parts[:i]))
                start, count = f["refs"]
                total += r.write_file(
                    (m.ref(i) for i in range(start, start + count)),
                    dest / f["path"],
                    opener=partial(_create, tree, f),
                )
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # never leave a half-written copy behind
        raise
    return len(files), total


def _create(tree: Tree, f: dict[str, Any], _path: Path) -> int:
    return tree.create(f["path"], file_mode(f["mode"]))


def check_file_set(files: object, ref_count: int) -> list[dict[str, Any]]:
    """A file set's entries, refused as a whole (UnsafeManifest, naming the entry) unless
    every path is relative and normalised, listed once, not also a directory of another,
    its mode without setuid/setgid/sticky bits and its references inside the manifest."""

    def refuse(path: object, why: str) -> UnsafeManifest:
        return UnsafeManifest(f"file set entry {path!r}: {why}; nothing written")

    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise refuse(None, "'files' is not a list of entries")
    paths = [f.get("path") for f in files]
    dirs = {p.rsplit("/", 1)[0] for p in paths if isinstance(p, str) and "/" in p}
    dirs |= {d.rsplit("/", i)[0] for d in dirs for i in range(d.count("/") + 1)}
    seen: set[str] = set()
    for f, path in zip(files, paths, strict=True):
        refs = f.get("refs")
        problem = (
            path_problem(path)
            or ("listed twice" if path in seen else None)
            or ("also a directory of another entry" if path in dirs else None)
            or mode_problem(f.get("mode"), directory=False)
        )
        if problem is None and not (
            isinstance(refs, list)
            and len(refs) == 2
            and all(is_count(r) for r in refs)
            and refs[0] + refs[1] <= ref_count
        ):
            problem = "block references outside the manifest"
        if problem is not None:
            raise refuse(path, problem)
        seen.add(str(path))
    return files


def list_file_sets(repo: Repository) -> list[dict[str, Any]]:
    out = []
    for mid in repo.list_manifests(KIND):
        doc = repo.get_manifest(KIND, mid).doc
        out.append(
            {
                "name": mid,
                "created": doc["created"],
                "files": len(doc["files"]),
                "bytes": sum(f["size"] for f in doc["files"]),
            }
        )
    return out
