"""A restore that fills its file system: one named error (StorageFull, exit 25), never an
internal error, and the disk given back.

The OSError (ENOSPC, or EDQUOT for a quota) may come from any writer — a worker thread of the
blob reader, WAL placed for recovery, backup_label — and may be wrapped in another pgdr
error on the way, so the cause chain is searched.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from pgdr.errors import StorageFull
from pgdr.humanize import human

FULL = {errno.ENOSPC, errno.EDQUOT}


def disk_full_cause(err: BaseException) -> OSError | None:
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in FULL:
            return e
        e = e.__cause__ or e.__context__
    return None


def empty_directory(path: Path) -> None:
    """Remove what is inside ``path`` (a directory that was empty before the restore)."""
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def storage_full(data_dir: Path, needed: int, fate: str) -> StorageFull:
    try:
        free = f"{human(shutil.disk_usage(_existing(data_dir)).free)} free now"
    except OSError:
        free = "free space unknown"
    return StorageFull(
        f"{data_dir}: no space left on the device while restoring ({human(needed)} of files "
        f"to write, {free}); {fate}",
        hint="restore onto a larger file system, or free space and run the restore again",
    )


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
