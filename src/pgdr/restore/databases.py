"""``restore --database``: which databases a restore keeps and which files of the others it
leaves out (pure), and how the left-out files are put in place (sparse, all zeros).

The model is pgBackRest's ``--db-include``: a left-out database's relation files are created
at their backed-up size as sparse files full of zeros, never fetched. WAL replay from the
backup's start checkpoint touches every page first with a full-page image (full_page_writes
is forced on during a backup), so replay over a zero page writes the whole page; a page never
touched stays zero, which PostgreSQL reads as a new, empty page (a zero page passes the
checksum test). The cluster starts; the left-out databases hold nothing usable and are
dropped (pgdr does that when it started and promoted the server, else it says how). Each
left-out database's ``PG_VERSION`` and ``pg_filenode.map`` are fetched (a few hundred bytes):
the directory stays what PostgreSQL expects of a database until it is dropped.

``template0``, ``template1`` and ``postgres`` are always kept, as pgBackRest does: CREATE
DATABASE copies template1, ``pg_restore --create`` and ``createdb -T template0`` need
template0, and the client tools connect to ``postgres`` to drop the others. Each weighs about
7.5 MB, a fixed cost next to the database asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from pgdr.catalog.manifest import BackupManifest, FileEntry
from pgdr.errors import UsageError
from pgdr.restore.targets import Targets

ALWAYS_KEPT = ("template0", "template1", "postgres")
#: Files of a left-out database that are fetched anyway: what makes base/<oid> a database
#: directory, not relation data.
FETCHED_ANYWAY = frozenset({"PG_VERSION", "pg_filenode.map"})
_BASE = re.compile(r"^base/([0-9]+)/([^/]+)$")
_SPACE = re.compile(r"^pg_tblspc/[0-9]+/PG_[^/]+/([0-9]+)/([^/]+)$")


@dataclass(frozen=True)
class DatabaseSelection:
    kept: tuple[str, ...]  # names, the requested ones first
    left_out: Mapping[int, str]  # oid -> name


def select_databases(backup: BackupManifest, requested: Collection[str]) -> DatabaseSelection:
    """The databases to keep (``requested`` plus ``ALWAYS_KEPT``) and the oids of those left
    out; UsageError for a name the backup does not hold or a backup without the oid map."""
    if not backup.database_oids:
        raise UsageError(
            f"backup {backup.id} does not record its databases' oids (taken by an older "
            "pgdr): restore the whole cluster, or take a new backup for --database"
        )
    names = set(backup.database_oids.values())
    unknown = sorted(set(requested) - names)
    if unknown:
        raise UsageError(
            f"backup {backup.id} has no database {unknown[0]!r}; it has: "
            + ", ".join(sorted(names))
        )
    kept = tuple(dict.fromkeys([*requested, *(n for n in ALWAYS_KEPT if n in names)]))
    left_out = {oid: n for oid, n in backup.database_oids.items() if n not in kept}
    return DatabaseSelection(kept, left_out)


def database_of(path: str) -> tuple[int, str] | None:
    """(database oid, file name) of a file in a database directory, in base/ or a
    tablespace; None for anything else."""
    m = _BASE.match(path) or _SPACE.match(path)
    return (int(m.group(1)), m.group(2)) if m else None


def split_entries(
    entries: list[FileEntry], left_out: Collection[int]
) -> tuple[list[FileEntry], list[FileEntry]]:
    """(entries to restore as usual, files to create as zeros): the relation files of the
    left-out databases are not fetched. Directories always stay."""
    fetch: list[FileEntry] = []
    zero: list[FileEntry] = []
    for e in entries:
        where = database_of(e.path) if e.kind == "file" else None
        if where is not None and where[0] in left_out and where[1] not in FETCHED_ANYWAY:
            zero.append(e)
        else:
            fetch.append(e)
    return fetch, zero


def create_zeroed(targets: Targets, entries: list[FileEntry]) -> int:
    """Each entry as a sparse file of its size holding zeros; returns their logical bytes."""
    total = 0
    for e in entries:
        tree, rel = targets.locate(e.path)
        fd = tree.create(rel, e.mode)
        try:
            os.ftruncate(fd, e.size)
            os.utime(fd, (e.file_mtime, e.file_mtime))
        finally:
            os.close(fd)
        total += e.size
    return total


def drop_left_out(data_dir: Path, port: int, selection: DatabaseSelection) -> bool:
    """Drop the left-out databases from the promoted server pgdr started (FORCE: an
    autovacuum worker may have connected to one). Names come from the manifest: quoted as
    identifiers, never spliced."""
    from pgdr.pg.cluster import Cluster

    cluster = Cluster.attach(data_dir, port=port, chown=False)  # the running one: same settings
    home = selection.kept[0]
    for name in sorted(selection.left_out.values()):
        db = sql.Identifier(name)
        cluster.sql(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(db), dbname=home)
        cluster.sql(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(db), dbname=home)
    return True
