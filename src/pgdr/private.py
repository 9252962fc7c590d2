"""Owner-only files and directories for pgdr's local state, whatever the umask.

What pgdr keeps on the host (daemon state, alert and audit state, drill markers, WAL spools
and prefetched WAL) may name secrets or hold the database's own bytes, so a directory pgdr
creates is 0700 and a file it writes 0600 — set explicitly, since a umask of 022 (the usual)
would leave them readable by every local user. A directory that already exists keeps its mode:
the operator chose it (tests share one state directory between root and ``postgres``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Literal, overload

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every directory created is 0700."""
    missing = []
    d = path
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for m in reversed(missing):
        try:
            m.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(m, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


@overload
def open_private(path: Path, mode: Literal["w", "a", "a+"]) -> IO[str]: ...
@overload
def open_private(path: Path, mode: Literal["wb", "ab"]) -> IO[bytes]: ...
def open_private(path: Path, mode: str) -> IO[str] | IO[bytes]:
    """``open(path, mode)`` for writing; a file it creates is 0600 (an existing one keeps
    its mode)."""
    flags = os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    flags |= os.O_RDWR if "+" in mode else os.O_WRONLY
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, data: str | bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` atomically (temporary file beside it, then rename) with a 0600 file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)  # a stale temp file may have had another mode
            f.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
