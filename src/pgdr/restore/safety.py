"""A backup manifest's entries checked as a whole before a restore writes anything (pure).

A manifest is input an attacker may have written (docs/design.md §11: bucket write on an
unencrypted repository; anyone holding the key — every archiving host's ``postgres``
account — on an encrypted one). ``check_files`` refuses the whole restore with
``UnsafeManifest`` (exit 39), naming the entry and why, when any entry is not something
PostgreSQL's data directory holds, and returns the entries as the restore creates them:

- paths relative and normalised (``pgdr.safepath``), each listed once, each one's parent a
  directory (or tablespace link) listed before it;
- kinds ``file``, ``dir``, ``gone`` (dropped during the backup: nothing is created) and
  ``link`` only where PostgreSQL has links: ``pg_tblspc/<oid>`` (a tablespace, whose location
  must be absolute and normalised and which holds only its ``PG_<version>_<catversion>``
  directory) and ``pg_wal`` (``initdb --waldir``), which becomes a real directory inside the
  target: its contents are never backed up, so production's WAL location is never named;
- modes: no setuid anywhere, no setgid/sticky on files; directories become 0700 and files
  keep at most their owner's read/write bits (0600);
- files' block references inside the manifest's reference table.
"""

from __future__ import annotations

import re
from typing import Any

from pgdr.catalog.manifest import (
    F_CHUNK,
    F_KIND,
    F_MODE,
    F_MTIME,
    F_PATH,
    F_REFS,
    F_SIZE,
    F_TARGET,
    BackupManifest,
    FileEntry,
)
from pgdr.errors import UnsafeManifest
from pgdr.safepath import (
    DIR_MODE,
    absolute_problem,
    file_mode,
    is_count,
    mode_problem,
    mtime_problem,
    path_problem,
)

KINDS = frozenset({"file", "dir", "link", "gone"})
TABLESPACE_LINK = re.compile(r"^pg_tblspc/[1-9][0-9]{0,9}$")
TABLESPACE_VERSION_DIR = re.compile(r"^PG_[0-9]+_[0-9]+$")
WAL_DIR = "pg_wal"
#: Written by the restore itself: a manifest never holds them (backups skip them).
RESERVED = frozenset({"backup_label", "recovery.signal", "standby.signal", "tablespace_map"})
#: Entries the restore appends to or writes into: only of this kind when listed.
FIXED_KIND = {"postgresql.auto.conf": "file", "pgdr_prefetch": "dir", "pg_tblspc": "dir"}


def check_manifest(manifest: BackupManifest, ref_count: int) -> list[FileEntry]:
    """A backup manifest's entries as the restore creates them (``check_files``), and the
    ``backup_label`` it writes checked to be text."""
    if not isinstance(manifest.backup_label, str):
        raise _refuse("backup_label", "the backup label is not text")
    return check_files(manifest.files, ref_count)


def check_files(files: object, ref_count: int) -> list[FileEntry]:
    """The manifest's ``files`` as the restore creates them, or UnsafeManifest."""
    if not isinstance(files, list):
        raise UnsafeManifest("backup manifest: 'files' is not a list")
    out: list[FileEntry] = []
    seen: dict[str, str] = {}  # path -> kind as created
    for f in files:
        entry = _check(f, seen, ref_count)
        seen[entry.path] = entry.kind
        out.append(entry)
    return out


def _refuse(path: object, why: str) -> UnsafeManifest:
    return UnsafeManifest(
        f"backup manifest entry {path!r}: {why}; refusing the whole restore (nothing written)",
        hint="the manifest was forged or damaged: restore another backup (--backup ID)",
    )


def _check(f: object, seen: dict[str, str], ref_count: int) -> FileEntry:
    if not isinstance(f, dict):
        raise _refuse(f, "not an entry")
    path, kind = f.get(F_PATH), f.get(F_KIND)
    problem = path_problem(path)
    if problem is not None:
        raise _refuse(path, problem)
    assert isinstance(path, str)
    if path in seen:
        raise _refuse(path, "listed twice")
    if kind not in KINDS:
        raise _refuse(path, f"unknown kind {kind!r}")
    assert isinstance(kind, str)
    parent, _, name = path.rpartition("/")
    if parent:
        above = seen.get(parent)
        if above == "link":
            if not (TABLESPACE_VERSION_DIR.match(name) and kind == "dir"):
                raise _refuse(path, "a tablespace holds only its PG_<version>_<catversion> dir")
        elif above != "dir":
            raise _refuse(path, f"its parent {parent!r} is not a directory listed before it")
    elif path in RESERVED:
        raise _refuse(path, "restore writes this file itself")
    if FIXED_KIND.get(path, kind) != kind:
        raise _refuse(path, f"must be a {FIXED_KIND[path]}")
    if kind == "link":
        return _check_link(f, path)
    problem = mode_problem(f.get(F_MODE), directory=kind == "dir") or mtime_problem(f.get(F_MTIME))
    if problem is not None:
        raise _refuse(path, problem)
    mtime = f[F_MTIME]
    if kind == "dir":
        return FileEntry(path, kind, DIR_MODE, mtime)
    if kind == "file":
        refs, size, chunk = _check_blocks(f, path, ref_count)
        return FileEntry(path, kind, file_mode(f[F_MODE]), mtime, size, refs, chunk)
    return FileEntry(path, kind, mtime=mtime)


def _check_link(f: dict[str, Any], path: str) -> FileEntry:
    if path == WAL_DIR:  # recreated as a directory inside the target: see the docstring
        return FileEntry(path, "dir", DIR_MODE, None)
    if not TABLESPACE_LINK.match(path):
        raise _refuse(path, "a symbolic link where PostgreSQL has none (only pg_tblspc/<oid>)")
    target = f.get(F_TARGET)
    problem = absolute_problem(target)
    if problem is not None:
        raise _refuse(path, f"tablespace location {target!r}: {problem}")
    assert isinstance(target, str)
    return FileEntry(path, "link", target=target)


def _check_blocks(f: dict[str, Any], path: str, ref_count: int) -> tuple[tuple[int, int], int, int]:
    refs, size, chunk = f.get(F_REFS), f.get(F_SIZE), f.get(F_CHUNK, 0)
    if not (isinstance(refs, list) and len(refs) == 2 and all(is_count(r) for r in refs)):
        raise _refuse(path, "block references are not [start, count]")
    start, count = refs
    if start + count > ref_count:
        raise _refuse(path, "block references beyond the manifest's reference table")
    if not is_count(size) or not is_count(chunk) or (count and not chunk):
        raise _refuse(path, "size or chunk size is not a count")
    assert isinstance(size, int) and isinstance(chunk, int)
    return (start, count), size, chunk
