"""Which files of a data directory go into a base backup — the exclusions pg_basebackup
uses (src/backend/backup/basebackup.c, PostgreSQL 15) — as a pure function over names."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Directories whose contents are skipped (the directory itself is kept, empty).
EXCLUDED_CONTENTS = frozenset(
    {
        "pg_wal",
        "pgdr_prefetch",
        "pg_dynshmem",
        "pg_notify",
        "pg_replslot",
        "pg_serial",
        "pg_snapshots",
        "pg_stat_tmp",
        "pg_subtrans",
    }
)
# Files skipped anywhere at the top level.
EXCLUDED_FILES = frozenset(
    {
        "postmaster.pid",
        "postmaster.opts",
        "backup_label",
        "tablespace_map",
        "recovery.signal",
        "standby.signal",
        "backup_manifest",
        "current_logfiles",
        "pg_internal.init",
    }
)
_RELFILE = re.compile(r"^(\d+)(_(fsm|vm|init))?(\.\d+)?$")


@dataclass(frozen=True)
class Entry:
    rel: str  # path relative to the data directory, '/'-separated
    kind: str  # "file" | "dir" | "link"
    size: int = 0
    mode: int = 0o600
    mtime: float = 0.0
    target: str = ""  # for links (tablespaces)


def excluded(rel: str, unlogged: frozenset[str] = frozenset()) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    if (
        name in EXCLUDED_FILES
        or name.startswith("pgsql_tmp")
        or (name.endswith(".tmp") and len(parts) == 1)
    ):
        return True
    if len(parts) >= 2 and parts[0] in EXCLUDED_CONTENTS:
        return True
    if any(p.startswith("pgsql_tmp") for p in parts):
        return True
    # Unlogged relations: only the init fork is kept (main/fsm/vm are reset at recovery).
    m = _RELFILE.match(name)
    return bool(m and m.group(3) != "init" and "/".join([*parts[:-1], m.group(1)]) in unlogged)


def unlogged_relations(data_dir: Path) -> frozenset[str]:
    """Relations (dir/relfilenode) that have an init fork: they are unlogged."""
    found = set()
    for base in ("base", "pg_tblspc"):
        for dirpath, _dirs, files in os.walk(data_dir / base, followlinks=True):
            for f in files:
                if f.endswith("_init"):
                    rel = Path(dirpath).relative_to(data_dir).as_posix()
                    found.add(f"{rel}/{f[:-5]}")
    return frozenset(found)


def walk(data_dir: Path) -> Iterator[Entry]:
    """Every entry to back up, directories before their contents, sorted. Tablespace links
    in pg_tblspc are followed (their contents are listed under pg_tblspc/<oid>/...). Any other
    link (a ``pg_wal`` on another disk from ``initdb --waldir``, a ``server.crt`` pointing at
    the system's certificate) is backed up as what it points to — a directory or a file — so
    it restores as a plain one, as pgBackRest restores links by default: restore creates no
    link but a tablespace's, and a link with no target is left out (logged)."""
    unlogged = unlogged_relations(data_dir)

    def visit(
        d: Path, rel: str, above: frozenset[tuple[int, int]] = frozenset()
    ) -> Iterator[Entry]:
        """``above``: the directories this one is inside (a link back up is a loop)."""
        try:
            here = os.stat(d)
        except FileNotFoundError:
            return
        above = above | {(here.st_dev, here.st_ino)}
        try:
            names = sorted(os.listdir(d))
        except FileNotFoundError:
            return  # dropped while we walked
        for name in names:
            r = f"{rel}/{name}" if rel else name
            p = d / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            if excluded(r, unlogged):
                continue
            if os.path.islink(p) and rel == "pg_tblspc":
                yield Entry(r, "link", 0, 0o777, st.st_mtime, os.readlink(p))
                yield from visit(p, r, above)
                continue
            if os.path.islink(p):
                try:
                    st = p.stat()  # what it points to
                except OSError:
                    log.warning("%s: a link to nothing; not backed up", r)
                    continue
                if p.is_dir() and (st.st_dev, st.st_ino) in above:
                    log.warning("%s: a link to a directory it is in; not backed up", r)
                    continue
            if p.is_dir():
                yield Entry(r, "dir", 0, st.st_mode & 0o7777, st.st_mtime)
                yield from visit(p, r, above)
            elif p.is_file():
                yield Entry(r, "file", st.st_size, st.st_mode & 0o7777, st.st_mtime)

    yield from visit(data_dir, "")
