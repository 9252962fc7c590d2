"""Retry, limit and fault-injection wrappers, with a fake clock and no mocks."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from pgdr.errors import (
    ObjectExists,
    StoragePermissionDenied,
    StorageUnreachable,
    TransientStorageError,
)
from pgdr.storage.deadline import DeadlineBackend, remaining
from pgdr.storage.memory import MemoryBackend
from pgdr.storage.wrappers import (
    FaultPlan,
    FaultRule,
    FaultyBackend,
    LimitedBackend,
    RetryingBackend,
)

pytestmark = pytest.mark.unit
_n = itertools.count()


def faulty(*rules: FaultRule) -> FaultyBackend:
    return FaultyBackend(MemoryBackend(f"wrap-{next(_n)}"), FaultPlan(list(rules)))


def test_retry_succeeds_after_transient_faults() -> None:
    inner = faulty(FaultRule(frozenset({"put"}), calls=frozenset({1, 2})))
    sleeps: list[float] = []
    b = RetryingBackend(inner, attempts=3, base_delay=0.1, sleep=sleeps.append)
    b.put("k", b"v")
    assert b.get("k") == b"v" and len(sleeps) == 2 and all(0 <= s <= 0.2 for s in sleeps)


def test_retry_gives_up_with_the_last_error() -> None:
    inner = faulty(FaultRule(frozenset({"get"}), probability=1.0))
    b = RetryingBackend(inner, attempts=4, sleep=lambda s: None)
    with pytest.raises(TransientStorageError):
        b.get("k")
    assert inner.plan.rules[0].fired == 4


def test_non_retryable_errors_are_not_retried() -> None:
    inner = faulty(FaultRule(frozenset({"put"}), probability=1.0, error=StoragePermissionDenied))
    b = RetryingBackend(inner, attempts=5, sleep=lambda s: None)
    with pytest.raises(StoragePermissionDenied):
        b.put("k", b"v")
    assert inner.plan.rules[0].fired == 1


def test_limit_is_never_exceeded() -> None:
    active, peak, lock = 0, 0, threading.Lock()

    class Slow(MemoryBackend):
        def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.01)
            with lock:
                active -= 1
            return b""

    b = LimitedBackend(Slow(f"slow-{next(_n)}"), 3)
    threads = [threading.Thread(target=lambda: [b.get("x") for _ in range(5)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3


def test_fault_plan_corrupts_deterministically() -> None:
    b = faulty(FaultRule(frozenset({"get"}), prefix="data/", calls=frozenset({2}), corrupt=True))
    b.put("data/x", b"abcdef")
    assert b.get("data/x") == b"abcdef"
    assert b.get("data/x") != b"abcdef"
    assert b.get("data/x") == b"abcdef"


class LostAnswer(MemoryBackend):
    """Stores on the first put_new, then reports a timeout as if the answer was lost."""

    calls = 0

    def put_new(self, key: str, data: bytes, options: object = None) -> None:
        self.calls += 1
        super().put_new(key, data)
        if self.calls == 1:
            raise TransientStorageError("read timeout")


def test_put_new_retry_accepts_its_own_lost_write_only() -> None:
    inner = LostAnswer(f"wrap-{next(_n)}")
    b = RetryingBackend(inner, attempts=3, sleep=lambda s: None)
    b.put_new("m", b"ours")  # attempt 2 finds attempt 1's bytes: success
    assert inner.calls == 2 and b.get("m") == b"ours"
    with pytest.raises(ObjectExists):  # someone else's object is never taken for ours
        b.put_new("m", b"other")


class Hung(MemoryBackend):
    """Accepts the call and never answers (until released), like a paused endpoint."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()

    def stat(self, key: str) -> None:  # type: ignore[override]
        self.release.wait(30)
        return None


def test_deadline_stops_waiting_for_a_hung_operation() -> None:
    inner = Hung(f"wrap-{next(_n)}")
    b = DeadlineBackend(inner, timeout=0.3)
    t = time.monotonic()
    with pytest.raises(StorageUnreachable, match=r"mem://wrap-\d+ did not answer: stat config"):
        b.stat("config")
    assert time.monotonic() - t < 2
    inner.release.set()
    b.put("k", b"v")  # answers pass through; errors of the inner backend too
    assert b.get("k") == b"v"
    with pytest.raises(ObjectExists):
        b.put_new("k", b"w")


def test_a_command_deadline_bounds_every_operation() -> None:
    now = [100.0]
    b = DeadlineBackend(
        MemoryBackend(f"wrap-{next(_n)}"), timeout=60, deadline=105, clock=lambda: now[0]
    )
    b.put("k", b"v")
    now[0] = 105.0
    with pytest.raises(StorageUnreachable, match="deadline passed"):
        b.get("k")
    assert remaining(60, 105, 100) == 5 and remaining(60, None, 100) == 60


def test_retry_gives_up_when_the_next_attempt_would_pass_the_deadline() -> None:
    now = [0.0]
    inner = faulty(FaultRule(frozenset({"get"}), probability=1.0))

    def sleep(s: float) -> None:
        now[0] += s

    b = RetryingBackend(
        inner,
        attempts=50,
        base_delay=1,
        max_delay=1,
        sleep=sleep,
        op_timeout=10,
        clock=lambda: now[0],
    )
    with pytest.raises(TransientStorageError):
        b.get("k")
    assert now[0] < 10 and inner.plan.rules[0].fired < 50
