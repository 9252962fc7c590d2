"""Handing over a prefetched WAL file — standard library only, because restore_command runs
once per segment and this is its fast path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def take_prefetched(spool: Path, name: str, dest: Path) -> bool:
    """Move ``spool/prefetch/name`` to ``dest``; False if it is not there."""
    src = spool / "prefetch" / name
    if not src.exists():
        return False
    try:
        os.replace(src, dest)
    except OSError:  # another filesystem
        tmp = dest.with_name(f".{dest.name}.pgdr-tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        src.unlink(missing_ok=True)
    return True
