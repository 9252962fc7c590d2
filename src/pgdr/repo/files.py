"""File sets: plain files stored as a ``files`` manifest. The smallest real user of the
streaming API, and a template for backup manifests: each file is {path, size, mode, refs:
[start, count]} with refs indexing the manifest's blob table."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from pgdr.errors import UsageError
from pgdr.repo.locks import LockManager
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter, WriteStats

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
    total = 0
    try:
        with BlobReader(repo) as r:
            for f in m.doc["files"]:
                target = dest / f["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                start, count = f["refs"]
                total += r.write_file((m.ref(i) for i in range(start, start + count)), target)
                os.chmod(target, f["mode"])
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # never leave a half-written copy behind
        raise
    return len(m.doc["files"]), total


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
