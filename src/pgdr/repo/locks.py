"""Repository locks for writers on storage without compare-and-swap (S3, NFS, local disk).

A lock is an immutable object ``locks/<UTC time>-<16 hex>`` with a small JSON body: kind
(shared | exclusive), purpose, host, pid, user, created, expires. Protocol:

1. Write our lock object first, then list ``locks/``.
2. Conflict rule: exclusive conflicts with any other live lock; shared conflicts only with a
   live exclusive lock; delete (GC, expire, explicit deletes, rekey) conflicts with exclusive
   and with another delete lock, not with shared writers — GC's deletion plan protocol makes
   it safe next to them (below). On conflict we delete our own object and fail (or back off with
   jitter and retry until ``wait`` runs out). Two contenders that see each other both back
   off; random back-off breaks the tie.
3. A lock is stale when it has expired, or when it names this host and a pid that is no
   longer alive. Unreadable lock objects count as live until their modification time plus
   the TTL has passed (fail safe).
4. Holders refresh by writing a NEW object with a later expiry and then deleting the old one:
   objects stay immutable (Object Lock friendly).

Garbage collection with concurrent writers (``pgdr.repo.gc``): GC writes a deletion plan,
THEN lists live locks, and sweeps only once every lock that was live at plan time is gone. A
writer writes its lock, THEN lists plans. If GC did not see a writer's lock, that lock's put
completed after GC's listing began, which is after the plan was durable, so the writer's
later listing sees the plan and it will not deduplicate against planned packs. A refresh
replaces a lock object (new id), so a holder is identified by (host, pid, created).

Lock objects are written as transient (never under S3 Object Lock): they must stay deletable.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pgdr import localfs
from pgdr.errors import PgdrError, RepositoryLocked
from pgdr.repo.format import LOCKS_PREFIX
from pgdr.storage.base import Backend, PutOptions

log = logging.getLogger(__name__)
Kind = Literal["shared", "exclusive", "delete"]
Holder = tuple[str, int, float]  # host, pid, created: stable across refreshes


@dataclass(frozen=True)
class LockInfo:
    id: str
    kind: str
    purpose: str
    host: str
    pid: int
    user: str
    created: float
    expires: float
    stale: bool = False
    reason: str = ""

    @property
    def holder(self) -> Holder:
        return (self.host, self.pid, self.created)

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        who = f"{self.user}@{self.host} pid {self.pid}"
        return f"{self.kind}, purpose {self.purpose}, by {who} since {since}"


class LockManager:
    def __init__(
        self,
        backend: Backend,
        *,
        clock: Callable[[], float] = time.time,
        ttl: float = 1800.0,
        refresh_every: float = 300.0,
        host: str | None = None,
        pid: int | None = None,
        pid_alive: Callable[[int], bool] = localfs.pid_alive,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.ttl = ttl
        self.refresh_every = refresh_every
        self.host = host or socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self.pid_alive = pid_alive
        self.sleep = sleep
        try:
            self.user = getpass.getuser()
        except (KeyError, OSError):
            self.user = str(os.getuid())

    # --- reading -------------------------------------------------------------------------

    def list_locks(self) -> list[LockInfo]:
        now = self.clock()
        out = []
        for obj in self.backend.list(LOCKS_PREFIX):
            lock_id = obj.key[len(LOCKS_PREFIX) :]
            try:
                doc = json.loads(self.backend.get(obj.key))
                info = LockInfo(
                    lock_id,
                    doc["kind"],
                    doc["purpose"],
                    doc["host"],
                    int(doc["pid"]),
                    doc.get("user", "?"),
                    float(doc["created"]),
                    float(doc["expires"]),
                )
            except PgdrError:
                continue  # vanished between list and get
            except (ValueError, KeyError, TypeError):
                mtime = obj.modified.timestamp() if obj.modified else now
                stale = mtime + self.ttl < now
                out.append(
                    LockInfo(
                        lock_id,
                        "exclusive",
                        "unreadable",
                        "?",
                        0,
                        "?",
                        mtime,
                        mtime + self.ttl,
                        stale,
                        "unreadable lock object",
                    )
                )
                continue
            if info.expires < now:
                info = _with(info, True, "expired")
            elif info.host == self.host and not self.pid_alive(info.pid):
                info = _with(info, True, f"process {info.pid} on this host is gone")
            out.append(info)
        return out

    def live_lock_ids(self) -> set[str]:
        return {i.id for i in self.list_locks() if not i.stale}

    def live_holders(self) -> dict[Holder, LockInfo]:
        """Live locks by holder (a refreshed lock keeps its holder, not its id)."""
        return {i.holder: i for i in self.list_locks() if not i.stale}

    def remove_stale(self) -> list[LockInfo]:
        stale = [i for i in self.list_locks() if i.stale]
        for i in stale:
            self.backend.delete(LOCKS_PREFIX + i.id)
        return stale

    def remove_all(self, force: bool = False) -> list[LockInfo]:
        if not force:
            raise ValueError("remove_all needs force=True")
        locks = self.list_locks()
        for i in locks:
            self.backend.delete(LOCKS_PREFIX + i.id)
        return locks

    # --- taking --------------------------------------------------------------------------

    def _write(self, kind: Kind, purpose: str, created: float) -> str:
        now = self.clock()
        lock_id = (
            datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S%fZ")
            + "-"
            + os.urandom(8).hex()
        )
        doc = {
            "version": 1,
            "id": lock_id,
            "kind": kind,
            "purpose": purpose,
            "host": self.host,
            "pid": self.pid,
            "user": self.user,
            "created": created,
            "expires": now + self.ttl,
        }
        self.backend.put(
            LOCKS_PREFIX + lock_id,
            json.dumps(doc, separators=(",", ":")).encode(),
            PutOptions(transient=True),
        )
        return lock_id

    def acquire(
        self, kind: Kind, purpose: str, *, wait: float = 0.0, auto_refresh: bool = True
    ) -> Lock:
        deadline = self.clock() + wait
        delay = 0.05
        while True:
            created = self.clock()
            lock_id = self._write(kind, purpose, created)
            conflict = self._conflict(kind, lock_id)
            if conflict is None:
                return Lock(self, lock_id, kind, purpose, created, auto_refresh)
            self.backend.delete(LOCKS_PREFIX + lock_id)
            if self.clock() >= deadline:
                expires = datetime.fromtimestamp(conflict.expires, UTC).strftime("%H:%M:%S UTC")
                raise RepositoryLocked(
                    f"repository is locked ({conflict.describe()}); it expires at {expires}",
                    hint="if that process is gone, run `pgdr repo unlock`",
                )
            self.sleep(min(delay * (1 + random.random()), max(0.0, deadline - self.clock())))
            delay = min(delay * 2, 2.0)

    def _conflict(self, kind: Kind, own_id: str) -> LockInfo | None:
        for info in self.list_locks():
            if info.id == own_id or info.stale:
                continue
            if conflicts(kind, info.kind):
                return info
        return None


def conflicts(mine: str, theirs: str) -> bool:
    """Exclusive excludes everything; two delete locks exclude each other; shared writers
    coexist with each other and with a delete lock (GC's plan protocol covers them)."""
    if "exclusive" in (mine, theirs):
        return True
    return mine == theirs == "delete"


def _with(info: LockInfo, stale: bool, reason: str) -> LockInfo:
    return LockInfo(
        info.id,
        info.kind,
        info.purpose,
        info.host,
        info.pid,
        info.user,
        info.created,
        info.expires,
        stale,
        reason,
    )


class Lock:
    """A held lock; refreshed in the background until released."""

    def __init__(
        self,
        mgr: LockManager,
        lock_id: str,
        kind: Kind,
        purpose: str,
        created: float,
        auto_refresh: bool,
    ) -> None:
        self.mgr = mgr
        self.id = lock_id
        self.kind = kind
        self.purpose = purpose
        self.held_since = created
        self._released = False
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if auto_refresh:
            self._thread = threading.Thread(target=self._refresher, daemon=True, name="pgdr-lock")
            self._thread.start()

    def _refresher(self) -> None:
        while not self._stop.wait(self.mgr.refresh_every):
            try:
                self.refresh()
            except PgdrError as e:  # storage hiccup: try again next round, expiry has margin
                log.warning("could not refresh lock %s: %s", self.id, e)

    def refresh(self) -> None:
        with self._mutex:
            if self._released:
                return
            old = self.id
            self.id = self.mgr._write(self.kind, self.purpose, self.held_since)
            self.mgr.backend.delete(LOCKS_PREFIX + old)

    def check(self) -> None:
        """Raise RepositoryLocked if our lock was removed (e.g. by `repo unlock --all`)."""
        if self.mgr.backend.stat(LOCKS_PREFIX + self.id) is None:
            raise RepositoryLocked(f"our {self.kind} lock {self.id} was removed by someone else")

    def release(self) -> None:
        self._stop.set()
        with self._mutex:
            if self._released:
                return
            self._released = True
            self.mgr.backend.delete(LOCKS_PREFIX + self.id)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
