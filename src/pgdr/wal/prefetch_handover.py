"""Handing over a prefetched WAL file — standard library only, because restore_command runs
once per segment and this is its fast path."""

from __future__ import annotations

from pathlib import Path

from pgdr.localfs import move


def take_prefetched(spool: Path, name: str, dest: Path) -> bool:
    """Move ``spool/prefetch/name`` to ``dest``; False if it is not there."""
    src = spool / "prefetch" / name
    if not src.exists():
        return False
    move(src, dest)
    return True
