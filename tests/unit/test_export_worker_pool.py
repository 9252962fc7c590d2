"""pgdr.export.reader.WorkerPool: a worker given back is reused for the same snapshot only,
closing the pool closes every idle worker, and no more than ``limit`` workers are out at once
(a fake worker stands in for ADBC)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from pgdr.export.reader import Snapshot, Worker, WorkerPool


class FakeWorker:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.closed = False

    def close(self) -> None:
        self.closed = True


def snap(sid: str) -> Snapshot:
    return Snapshot("db", "host=x", sid, datetime(2026, 1, 1, tzinfo=UTC))


def new(s: Snapshot) -> Worker:
    return cast(Worker, FakeWorker(s))


def test_a_worker_given_back_is_taken_again_for_its_snapshot_only() -> None:
    pool = WorkerPool(new)
    a, b = snap("00000003-1"), snap("00000004-1")
    w1 = pool.take(a)
    w2 = pool.take(a)
    assert w1 is not w2  # both busy: a second connection
    pool.give(a, w1)
    assert pool.take(a) is w1
    other = pool.take(b)  # another database's snapshot never gets a's worker
    assert cast(Any, other).snap is b and other is not w1


def test_close_closes_the_idle_workers() -> None:
    pool = WorkerPool(new)
    a, b = snap("00000003-1"), snap("00000004-1")
    workers = [pool.take(a), pool.take(a), pool.take(b)]
    for w, s in zip(workers, [a, a, b], strict=True):
        pool.give(s, w)
    busy = pool.take(a)
    pool.close()
    assert [cast(Any, w).closed for w in workers if w is not busy] == [True, True]
    assert not cast(Any, busy).closed  # the caller closes what it holds
    assert pool.take(a) is not busy  # nothing idle is left after close


def test_no_more_than_limit_workers_are_out_and_a_discarded_one_frees_its_slot() -> None:
    pool = WorkerPool(new, limit=2)
    a = snap("00000003-1")
    w1, w2 = pool.take(a), pool.take(a)
    got: list[Worker] = []
    third = threading.Thread(target=lambda: got.append(pool.take(a)))
    third.start()
    third.join(0.2)
    assert third.is_alive() and not got  # both slots are out: the third taker waits
    pool.discard(w1)
    third.join(30)
    assert not third.is_alive() and len(got) == 1
    assert cast(Any, w1).closed and got[0] is not w1  # a discarded worker is never reused
    pool.give(a, w2)
    assert pool.take(a) is w2  # a slot given back, with its worker


def test_a_failed_connection_frees_its_slot() -> None:
    def refuse(s: Snapshot) -> Worker:
        raise RuntimeError("connection refused")

    pool = WorkerPool(refuse, limit=1)
    for _ in range(3):  # each failure gives the single slot back, so no taker hangs
        with pytest.raises(RuntimeError):
            pool.take(snap("00000003-1"))
