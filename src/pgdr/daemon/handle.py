"""One open repository shared by the daemon's loops, reopened after it became unreachable.

Opening unlocks the key (a passphrase costs a memory-hard KDF), so the daemon keeps the
repository open; any storage-level failure drops it so that the next use opens it afresh.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pgdr.errors import NotARepository, StorageError
from pgdr.repo.repository import Repository

Opener = Callable[[], Repository]


class RepoHandle:
    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self._repo: Repository | None = None
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Repository]:
        """Yield the open repository (opening it if needed); a storage failure inside the
        block closes it, then propagates."""
        with self._lock:
            if self._repo is None:
                self._repo = self.opener()
            repo = self._repo
        try:
            yield repo
        except (StorageError, NotARepository):
            self.reset(repo)
            raise

    def reset(self, repo: Repository | None = None) -> None:
        with self._lock:
            if self._repo is not None and (repo is None or repo is self._repo):
                old, self._repo = self._repo, None
                # closing a broken connection must not mask the cause
                with contextlib.suppress(Exception):
                    old.close()

    def close(self) -> None:
        self.reset()
