"""Writing below a directory without ever following a link (docs/design.md §11).

A restore often runs as root into a directory another account (the server's ``postgres``)
can write. Every entry is created and opened relative to a directory file descriptor, one
component at a time with ``O_NOFOLLOW``, so a symbolic link planted half-way (``base`` ->
``/etc``) makes the restore fail instead of redirecting root's writes; files are created with
``O_EXCL`` (a planted file or hard link is never truncated); modes, owners and times are set
through the descriptor. Paths given here are already checked (``pgdr.safepath``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from pgdr.errors import UsageError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
CREATE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Tree:
    """A directory opened once; everything below it reached through descriptors. Files may
    be created and opened from several threads (a restore's writers) once their directories
    exist; directories are made by one thread."""

    def __init__(self, fd: int, path: Path, owner: tuple[int, int] | None = None) -> None:
        self.path = path
        self.owner = owner  # (uid, gid) every created entry is given; None: keep ours
        self._dirs: dict[str, int] = {"": fd}
        self._create_locks: dict[int, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, owner: tuple[int, int] | None = None, *, create: bool) -> Tree:
        """Open the operator's directory (the path itself may go through links: their
        choice), make it 0700 and hand it to ``owner`` before anything is written in it."""
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        tree = cls(fd, path, owner)
        tree._own(fd, 0o700)
        return tree

    @property
    def fd(self) -> int:
        return self._dirs[""]

    def _creating(self, parent: int) -> threading.Lock:
        """One creation at a time per directory: the kernel serialises them anyway (the
        directory's lock, held while ext4 finds a free inode — a long search on a file system
        that just deleted many, as every restore after a drill's cleanup does), and a thread
        waiting here sleeps, where one waiting in the kernel spins on a core the other
        threads need (perf on a restore of 976 files: rwsem_spin_on_owner 7% of all CPU)."""
        with self._locks_lock:
            return self._create_locks.setdefault(parent, threading.Lock())

    def _own(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)
        if self.owner is not None:
            os.fchown(fd, *self.owner)

    def dir(self, rel: str) -> int:
        """The descriptor of directory ``rel`` (cached); refuses a link or non-directory."""
        fd = self._dirs.get(rel)
        if fd is not None:
            return fd
        parent, name = self.split(rel)
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=parent)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                raise self._not_plain(rel, "a directory") from None
            raise
        kept = self._dirs.setdefault(rel, fd)  # another thread may have opened it first
        if kept != fd:
            os.close(fd)
        return kept

    def split(self, rel: str) -> tuple[int, str]:
        """(descriptor of the parent directory, last name) of ``rel``."""
        parent, _, name = rel.rpartition("/")
        return self.dir(parent), name

    def mkdir(self, rel: str, mode: int = 0o700) -> int:
        """Create directory ``rel`` (an existing real directory is fine) and open it."""
        parent, name = self.split(rel)
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = self.dir(rel)
        self._own(fd, mode)
        return fd

    def create(self, rel: str, mode: int, *, read: bool = False) -> int:
        """A new file ``rel`` opened for writing; it must not exist (``O_EXCL``)."""
        parent, name = self.split(rel)
        access = os.O_RDWR if read else os.O_WRONLY
        try:
            with self._creating(parent):
                fd = os.open(name, access | CREATE_FLAGS, 0o600, dir_fd=parent)
        except FileExistsError:
            raise UsageError(
                f"{self.path / rel} appeared during the restore; restore does not write "
                "through existing entries"
            ) from None
        try:
            self._own(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_regular(self, rel: str, flags: int = os.O_RDONLY) -> int | None:
        """An existing regular file with one link, opened without following a link; None
        when ``rel`` is missing, a link, not a regular file or linked elsewhere too."""
        parent, name = self.split(rel)
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EACCES):
                return None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            return None
        return fd

    def lstat(self, rel: str) -> os.stat_result | None:
        parent, name = self.split(rel)
        try:
            return os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def readlink(self, rel: str) -> str | None:
        parent, name = self.split(rel)
        try:
            return os.readlink(name, dir_fd=parent)
        except OSError:
            return None

    def remove(self, rel: str) -> None:
        """Remove ``rel`` whatever it is; a directory's contents without following links."""
        parent, name = self.split(rel)
        st = self.lstat(rel)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            self._forget(rel)
            shutil.rmtree(name, dir_fd=parent)
        else:
            os.unlink(name, dir_fd=parent)

    def symlink(self, rel: str, target: str) -> None:
        parent, name = self.split(rel)
        os.symlink(target, name, dir_fd=parent)
        if self.owner is not None:
            os.chown(name, *self.owner, dir_fd=parent, follow_symlinks=False)

    def utime(self, rel: str, mtime: float) -> None:
        parent, name = self.split(rel)
        os.utime(name, (mtime, mtime), dir_fd=parent, follow_symlinks=False)

    def scan(self, rel: str) -> Iterator[tuple[str, os.stat_result]]:
        """Names in directory ``rel`` with their lstat, sorted."""
        fd = self.dir(rel)
        for name in sorted(os.listdir(fd)):
            yield name, os.stat(name, dir_fd=fd, follow_symlinks=False)

    def _forget(self, rel: str) -> None:
        for key in [k for k in self._dirs if k == rel or k.startswith(rel + "/")]:
            os.close(self._dirs.pop(key))

    def _not_plain(self, rel: str, what: str) -> UsageError:
        return UsageError(
            f"{self.path / rel} is a symbolic link or not {what}; restore never writes "
            "through links (was it replaced during the restore?)"
        )

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
