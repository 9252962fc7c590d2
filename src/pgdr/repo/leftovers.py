"""Leftovers of interrupted runs: stale locks (their holder is gone — a killed backup) and
temporary files of puts that never finished (a killed `wal-push` on a `file://` repository).
Neither is ever read, but both used to stay forever: `repo info` and `repo verify` show them,
`repo unlock` and `repo gc` remove them (docs/design.md §10)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgdr.errors import PgdrError
from pgdr.repo.format import LOCKS_PREFIX
from pgdr.repo.locks import LockInfo, LockManager
from pgdr.storage.base import Backend, ObjectInfo

#: A temporary file older than this belongs to a write that ended without finishing (a put
#: writes its temporary file and renames it within one call: seconds, not minutes).
TEMP_FILE_AGE_S = 900.0


@dataclass
class Leftovers:
    stale_locks: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)


def stale_locks(backend: Backend) -> list[LockInfo]:
    return [i for i in LockManager(backend).list_locks() if i.stale]


def temp_files(backend: Backend, older_than: float = TEMP_FILE_AGE_S) -> list[ObjectInfo]:
    """Temporary files of interrupted puts (storage that writes them: ``file://``)."""
    find = getattr(backend, "interrupted_writes", None)
    return list(find(older_than)) if callable(find) else []


def clean(backend: Backend, *, dry_run: bool = False) -> Leftovers:
    """Remove stale locks and old temporary files (or, ``dry_run``, only name them)."""
    out = Leftovers([i.id for i in stale_locks(backend)], [o.key for o in temp_files(backend)])
    if dry_run:
        return out
    for lock_id in out.stale_locks:
        backend.delete(LOCKS_PREFIX + lock_id)
    remove = getattr(backend, "remove_interrupted_write", None)
    for key in list(out.temp_files):
        try:
            remove(key)  # type: ignore[misc]
        except PgdrError:
            out.temp_files.remove(key)
    return out
