"""The resident pusher's look-ahead: after answering for one WAL file it pushes the next one
PostgreSQL has marked ``.ready`` in ``pg_wal/archive_status``, in a thread, while PostgreSQL
starts the archive_command that will ask for it. That request is then answered at once — still
only because the file is durable in the repository (the look-ahead's put returned) and is the
same file (inode, size, mtime) as the one pushed; otherwise it is pushed again as usual.
A ``.ready`` file is not recycled before its archive_command returned, so reading it ahead is
as safe as reading it on request. A look-ahead failure is forgotten: the request reports it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pgdr.catalog.wal import check_wal_name
from pgdr.errors import PgdrError

Identity = tuple[int, int, int]
MAX_REMEMBERED = 64
#: files pushed ahead in one stretch (a backlog), before waiting for the next request
RUN_AHEAD = 16


def identity(path: Path) -> Identity | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class LookAhead:
    def __init__(self, pg_wal: Path, push: Callable[[Path], object]) -> None:
        self.pg_wal = pg_wal
        self._push = push
        self._thread: threading.Thread | None = None
        self._busy = ""  # the file being pushed ahead right now
        self._cond = threading.Condition()
        self._done: dict[str, Identity] = {}

    def start_after(self, answered: str) -> None:
        """Push the first ``.ready`` file after ``answered`` in the background (one at a
        time)."""
        if self._thread is not None and self._thread.is_alive():
            return
        name = self._next_ready(answered)
        if name is None:
            return
        self._thread = threading.Thread(target=self._run, args=(name,), daemon=True)
        self._thread.start()

    def pushed(self, path: Path, wait_s: float) -> bool:
        """True when the look-ahead made exactly this file durable (waiting up to ``wait_s``
        for a look-ahead push of it still running)."""
        until = time.monotonic() + wait_s
        with self._cond:
            while self._busy == path.name and time.monotonic() < until:
                self._cond.wait(until - time.monotonic())
            if self._busy == path.name:
                return False
        done = self._done.pop(path.name, None)
        return done is not None and done == identity(path)

    def _next_ready(self, after: str) -> str | None:
        try:
            ready = sorted(
                e.name[: -len(".ready")]
                for e in os.scandir(self.pg_wal / "archive_status")
                if e.name.endswith(".ready")
            )
        except OSError:
            return None
        for name in ready:
            if name > after and name not in self._done:
                try:
                    check_wal_name(name)
                except PgdrError:
                    continue
                return name
        return None

    def _run(self, name: str | None) -> None:
        """Push ``name``, then the next ready files while a backlog lasts (at most
        ``RUN_AHEAD`` at a stretch)."""
        for _ in range(RUN_AHEAD):
            if name is None or not self._one(name):
                return
            name = self._next_ready(name)

    def _one(self, name: str) -> bool:
        path = self.pg_wal / name
        before = identity(path)
        if before is None:
            return False
        with self._cond:
            self._busy = name
        ok = False
        try:
            self._push(path)
            ok = identity(path) == before
        except PgdrError:
            pass
        finally:
            with self._cond:  # remembered before the waiting request looks
                if ok:
                    if len(self._done) >= MAX_REMEMBERED:
                        self._done.clear()
                    self._done[name] = before  # type: ignore[assignment]
                self._busy = ""
                self._cond.notify_all()
        return ok
