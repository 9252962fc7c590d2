"""pgdr's local files and processes: owner-only, atomic, durable (docs/design.md §15).

What pgdr keeps on the host (daemon state, alert and audit state, drill markers, identity
pins, WAL spools and prefetched WAL) may name secrets or hold the database's own bytes, so a
directory pgdr creates is 0700 and a file it writes 0600 — set explicitly, since a umask of
022 (the usual) would leave them readable by every local user. A directory that already
exists keeps its mode: the operator chose it (tests share one state directory between root
and ``postgres``).

One durability rule: :func:`atomic_write` returns only once the new content is on disk under
its name (temporary file beside it, write, fsync, rename, fsync of the directory). State that
a crash can roll back is worse than state that is a few microseconds slower to write: a lost
alert state re-sends or swallows notifications, a lost spool error hides why archiving
stopped, a lost identity pin re-trusts a replaced repository. Bulk restore output is the one
exception and is made durable by one :func:`sync_filesystem` before anything depends on it.

Standard library only: ``restore_command`` (the prefetch handover) imports it per segment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import IO, BinaryIO, Literal, overload

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, created: Callable[[Path], None] | None = None) -> Path:
    """``mkdir -p`` where every directory created is 0700; ``created`` is called with each
    directory this call made (the ``file://`` backend hands it to the repository's owner)."""
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
        if created is not None:
            created(m)
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


def fsync_dir(path: Path) -> None:
    """Make the names in directory ``path`` durable (a rename is not, until this)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes | BinaryIO) -> None:
    """Replace ``path`` with a 0600 file holding ``data`` (text, bytes or a binary stream to
    copy): readers see the old or the new content, never a part, and the new content is
    durable when this returns."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)  # a stale temp file may have had another mode
            if isinstance(data, str | bytes):
                f.write(data.encode() if isinstance(data, str) else data)
            else:
                shutil.copyfileobj(data, f, 1 << 20)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def move(src: Path, dest: Path) -> None:
    """Rename ``src`` to ``dest``; across file systems, a durable copy then unlink."""
    try:
        os.replace(src, dest)
    except OSError:  # another file system
        with open(src, "rb") as f:
            atomic_write(dest, f)
        src.unlink(missing_ok=True)


def sync_filesystem(path: Path) -> None:
    """Make everything written under ``path`` durable with one ``syncfs(2)`` of its file
    system — far cheaper than an fsync per file when a restore writes thousands of them.
    Falls back to ``sync()`` where syncfs is unavailable."""
    import ctypes
    import ctypes.util

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed", str(path))
    except (AttributeError, OSError):
        os.sync()
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (an orphaned, unreaped process is dead)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no usable /proc: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat_line.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
