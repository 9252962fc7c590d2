"""Moved to :mod:`pgdr.localfs`; this name stays only so branches written before the move
still import. Import from ``pgdr.localfs`` in new code."""

from __future__ import annotations

from pathlib import Path

from pgdr.localfs import DIR_MODE, FILE_MODE, atomic_write, open_private, private_dir

__all__ = ["DIR_MODE", "FILE_MODE", "open_private", "private_dir", "write_private"]


def write_private(path: Path, data: str | bytes, *, fsync: bool = True) -> None:
    """``atomic_write``: always durable now, whatever ``fsync`` says."""
    del fsync
    atomic_write(path, data)
