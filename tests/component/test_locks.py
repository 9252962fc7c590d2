"""Lock protocol: shared/exclusive conflicts, staleness, refresh, races. Fake clock."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time

import pytest

from pgdr.errors import RepositoryLocked
from pgdr.repo.format import LOCKS_PREFIX
from pgdr.repo.locks import LockManager
from pgdr.storage import open_backend

pytestmark = pytest.mark.component
_n = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend():
    return open_backend(f"mem://locks-{next(_n)}")


def mgr(backend, clock=None, host="host-a", pid=None, alive=lambda p: True):  # type: ignore[no-untyped-def]
    return LockManager(
        backend,
        clock=clock or Clock(),
        host=host,
        pid=pid or 1000,
        pid_alive=alive,
        sleep=lambda s: None,
    )


def test_shared_locks_coexist_and_exclusive_conflicts(backend) -> None:
    a = mgr(backend).acquire("shared", "backup", auto_refresh=False)
    b = mgr(backend, pid=1001).acquire("shared", "wal-push", auto_refresh=False)
    with pytest.raises(RepositoryLocked, match="shared, purpose"):
        mgr(backend, pid=1002).acquire("exclusive", "gc")
    a.release()
    b.release()
    g = mgr(backend).acquire("exclusive", "gc", auto_refresh=False)
    with pytest.raises(RepositoryLocked, match="exclusive, purpose gc"):
        mgr(backend, pid=1003).acquire("shared", "backup")
    g.release()
    assert list(backend.list(LOCKS_PREFIX)) == []


def test_expired_lock_is_stale_and_removable(backend) -> None:
    clock = Clock()
    mgr(backend, clock, host="other").acquire("exclusive", "gc", auto_refresh=False)
    clock.now += 1801
    locks = mgr(backend, clock).list_locks()
    assert [(lk.stale, lk.reason) for lk in locks] == [(True, "expired")]
    mgr(backend, clock).acquire("shared", "backup", auto_refresh=False).release()
    assert len(mgr(backend, clock).remove_stale()) == 1


def test_dead_pid_on_this_host_is_stale_but_not_on_another_host(backend) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = proc.pid
    LockManager(backend, host="host-a", pid=dead).acquire("exclusive", "gc", auto_refresh=False)
    here = LockManager(backend, host="host-a")
    assert [lk.stale for lk in here.list_locks()] == [True]
    here.acquire("shared", "backup", auto_refresh=False).release()
    there = LockManager(backend, host="host-b")
    assert [lk.stale for lk in there.list_locks()] == [False]
    with pytest.raises(RepositoryLocked):
        there.acquire("shared", "backup")


def test_refresh_writes_a_new_object_with_later_expiry(backend) -> None:
    clock = Clock()
    lock = mgr(backend, clock).acquire("shared", "backup", auto_refresh=False)
    old_id = lock.id
    old_expiry = mgr(backend, clock).list_locks()[0].expires
    clock.now += 100
    lock.refresh()
    (info,) = mgr(backend, clock).list_locks()
    assert info.id == lock.id != old_id and info.expires == old_expiry + 100
    assert info.created == lock.held_since
    lock.release()
    lock.release()  # idempotent


def test_check_detects_forced_removal(backend) -> None:
    lock = mgr(backend).acquire("shared", "backup", auto_refresh=False)
    lock.check()
    mgr(backend).remove_all(force=True)
    with pytest.raises(RepositoryLocked, match="removed"):
        lock.check()


def test_corrupt_lock_object_counts_as_live_until_ttl(backend) -> None:
    backend.put(LOCKS_PREFIX + "20260101T000000000000Z-deadbeef", b"{not json")
    m = LockManager(backend, host="h")
    (info,) = m.list_locks()
    assert not info.stale and info.reason == "unreadable lock object"
    with pytest.raises(RepositoryLocked):
        m.acquire("shared", "backup")


def test_wait_succeeds_once_the_holder_releases(backend) -> None:
    holder = LockManager(backend, host="h").acquire("exclusive", "gc", auto_refresh=False)
    timer = threading.Timer(0.2, holder.release)
    timer.start()
    got = LockManager(backend, host="h").acquire("shared", "backup", wait=10, auto_refresh=False)
    # it waited: when it got its lock, the exclusive one was gone
    assert [lk.id for lk in LockManager(backend, host="h").list_locks()] == [got.id]
    got.release()
    timer.join()


def test_racing_exclusive_lockers_never_both_hold(backend) -> None:
    holders = 0
    peak = 0
    guard = threading.Lock()

    def contend(i: int) -> None:
        nonlocal holders, peak
        for _ in range(25):
            try:
                lock = LockManager(
                    backend, host="h", pid=5000 + i, pid_alive=lambda p: True
                ).acquire("exclusive", "gc", auto_refresh=False)
            except RepositoryLocked:
                continue
            with guard:
                holders += 1
                peak = max(peak, holders)
            time.sleep(0.002)  # hold it a moment so overlapping holders would be seen
            with guard:
                holders -= 1
            lock.release()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
