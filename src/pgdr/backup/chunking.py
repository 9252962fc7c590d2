"""How a base backup cuts PGDATA into blobs, per file class (docs/design.md §8c).

Relation files (under ``base/``, ``global/``, ``pg_tblspc/``) are cut into 128 KiB chunks
(16 pages), everything else into 1 MiB. Each file's chunk size is recorded in the manifest
(``chunk``), and restore reads whatever size a backup recorded, so backups written with
another cut (32 KiB before issue 14) keep restoring; only deduplication between a backup cut
one way and one cut the other is lost, once.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024


@dataclass(frozen=True)
class Chunking:
    """Chunk sizes of one backup: ``relation`` for relation files, ``other`` for the rest."""

    relation: int = 128 * KiB
    other: int = 1024 * KiB

    def chunk_for(self, rel: str) -> int:
        """The chunk size of the file at ``rel`` (relative to PGDATA, '/'-separated)."""
        return self.relation if is_relation_path(rel) else self.other


#: What pgdr writes today (the measurements behind it: docs/design.md §8c).
DEFAULT = Chunking()
RELATION_DIRS = frozenset({"base", "global", "pg_tblspc"})


def is_relation_path(rel: str) -> bool:
    """Under a directory that holds relation files (its small non-relation files such as
    pg_filenode.map or PG_VERSION are cut the same way: they are one short chunk anyway)."""
    return rel.split("/", 1)[0] in RELATION_DIRS
