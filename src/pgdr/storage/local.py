"""file:// — objects as files under a root directory.

put writes a temporary file beside the target, fsyncs it, renames it over the target and
fsyncs the directory: readers see the whole object or nothing, and after put returns the
object survives a power loss. put_new hard-links the temporary file to the target instead,
which fails when the name is taken, so an existing object is never replaced. Temporary files
start with ``.tmp-`` and are never listed.

Owner-only whatever the umask: objects are 0600 and directories put creates 0700 (key slots,
and the whole database in an unencrypted repository, are not for other local users). As root
in a repository another user owns, what put creates goes to that user (see _inherit_owner).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

from pgdr.errors import (
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageFull,
    StoragePermissionDenied,
)
from pgdr.localfs import fsync_dir, private_dir
from pgdr.storage.base import ObjectInfo, PutOptions

TMP_PREFIX = ".tmp-"
FILE_MODE = 0o600


def raise_os_error(e: OSError, path: Path | str, what: str) -> NoReturn:
    reason = e.strerror or str(e)
    if e.errno == errno.ENOENT:
        raise ObjectNotFound(f"{path}: no such object") from None
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        raise StoragePermissionDenied(f"permission denied: cannot {what} {path}") from None
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        raise StorageFull(f"no space left: cannot {what} {path}") from None
    raise StorageError(f"cannot {what} {path}: {reason}") from None


def _inherit_owner(path: Path, like: Path, fd: int | None = None) -> None:
    """A directory or object root creates in a repository owned by another user
    (``postgres`` runs archive_command; an operator runs `pgdr backup` as root) goes to that
    user, so a root-run command never leaves the repository unreadable or unwritable for its
    owner (objects are 0600). ``like`` is the repository's root, whose owner is the
    repository's owner: not the new entry's parent, which another root thread may have just
    created and not yet handed over (two root backups creating ``manifests/cluster`` at once
    left it root's, and the owner's archive_command could never list it)."""
    if os.geteuid() != 0:
        return
    st = like.stat()
    if st.st_uid != 0:
        if fd is None:
            os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)
        else:
            os.fchown(fd, st.st_uid, st.st_gid)


class LocalBackend:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise StorageError(f"invalid object key {key!r}")
        return self.root / key

    def _makedirs(self, d: Path) -> None:
        def created(m: Path) -> None:
            _inherit_owner(m, self.root if self.root in m.parents else m.parent)
            fsync_dir(m.parent)

        private_dir(d, created)

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        self._put(key, data, options, replace=True)

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        self._put(key, data, options, replace=False)

    def _put(
        self, key: str, data: bytes | BinaryIO, options: PutOptions | None, *, replace: bool
    ) -> None:
        if options is not None and options.retain_until is not None:
            raise StorageError(f"{self.url}: file:// storage cannot lock objects (Object Lock)")
        path = self._path(key)
        tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        try:
            self._makedirs(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(fd, FILE_MODE)  # exact, whatever the umask
                _inherit_owner(tmp, self.root, fd)
                if isinstance(data, bytes | bytearray | memoryview):
                    f.write(data)
                else:
                    shutil.copyfileobj(data, f, 1 << 20)
                f.flush()
                os.fsync(f.fileno())
            if replace:
                os.replace(tmp, path)
            else:
                _link_new(tmp, path, self.url, key)
            fsync_dir(path.parent)
        except OSError as e:
            raise_os_error(e, path, "write")
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                if offset:
                    f.seek(offset)
                return f.read() if length is None else f.read(length)
        except OSError as e:
            raise_os_error(e, path, "read")

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise_os_error(e, path, "stat")
        return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Walk only the directory the prefix points into.
        head = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / head if head else self.root
        found: list[ObjectInfo] = []
        try:
            for dirpath, _dirs, files in os.walk(start, onerror=_raise_walk):
                for name in files:
                    if name.startswith(TMP_PREFIX):
                        continue
                    full = Path(dirpath) / name
                    key = full.relative_to(self.root).as_posix()
                    if not key.startswith(prefix):
                        continue
                    try:
                        st = full.stat()
                    except FileNotFoundError:
                        continue
                    found.append(
                        ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
                    )
        except OSError as e:
            if e.errno == errno.ENOENT:
                return iter(())
            raise_os_error(e, start, "list")
        found.sort(key=lambda o: o.key)
        return iter(found)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as e:
            raise_os_error(e, path, "delete")

    def interrupted_writes(self, older_than: float) -> Iterator[ObjectInfo]:
        """Temporary files of puts that never finished (the writer was killed between
        creating and renaming it), last modified more than ``older_than`` seconds ago."""
        limit = time.time() - older_than
        found: list[ObjectInfo] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not name.startswith(TMP_PREFIX):
                    continue
                full = Path(dirpath) / name
                try:
                    st = full.stat()
                except FileNotFoundError:
                    continue  # finished (renamed) while we looked
                if st.st_mtime < limit:
                    found.append(
                        ObjectInfo(
                            full.relative_to(self.root).as_posix(),
                            st.st_size,
                            datetime.fromtimestamp(st.st_mtime, UTC),
                        )
                    )
        return iter(sorted(found, key=lambda o: o.key))

    def remove_interrupted_write(self, key: str) -> None:
        """Delete one temporary file ``interrupted_writes`` named."""
        if not key.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
            raise StorageError(f"{key} is not a temporary file")
        self.delete(key)

    def close(self) -> None:
        pass


def _link_new(tmp: Path, path: Path, url: str, key: str) -> None:
    """Give the complete temporary file its final name only if that name is free: link(2)
    fails with EEXIST instead of replacing (rename would replace). File systems without hard
    links fall back to check-then-rename, which leaves a window between the two steps."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise ObjectExists(f"{url}/{key} already exists; not replaced") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
    if path.exists():
        raise ObjectExists(f"{url}/{key} already exists; not replaced")
    os.replace(tmp, path)


def _raise_walk(e: OSError) -> None:
    if e.errno != errno.ENOENT:
        raise e
