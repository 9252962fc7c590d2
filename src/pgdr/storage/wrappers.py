"""Cross-cutting concerns as wrappers around any backend: retry with backoff, a concurrency
limit, and fault injection for tests. Composed only in ``pgdr.storage.open_backend``."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeVar

from pgdr.errors import ObjectExists, PgdrError, StorageError, TransientStorageError
from pgdr.storage.base import Backend, ObjectInfo, PutOptions

log = logging.getLogger(__name__)
T = TypeVar("T")


class RetryingBackend:
    """Retries operations that fail with a retryable error, with capped exponential backoff
    and full jitter. Non-retryable errors pass straight through. With ``op_timeout`` (seconds
    per operation, retries included) or ``deadline`` (an absolute ``clock()`` time for the
    whole command) it gives up with the last error when the next attempt could not begin
    before that time."""

    def __init__(
        self,
        inner: Backend,
        attempts: int = 5,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        *,
        op_timeout: float | None = None,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.url = inner.url
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.op_timeout = op_timeout
        self.deadline = deadline
        self.clock = clock

    def _give_up_at(self, started: float) -> float | None:
        ends = [] if self.deadline is None else [self.deadline]
        if self.op_timeout is not None:
            ends.append(started + self.op_timeout)
        return min(ends, default=None)

    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        give_up_at = self._give_up_at(self.clock())
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except PgdrError as e:
                if not e.retryable or attempt == self.attempts:
                    raise
                delay = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
                if give_up_at is not None and self.clock() + delay >= give_up_at:
                    raise  # no time for another attempt: the last error says why
                log.info(
                    "%s failed (%s); retry %d/%d in %.2fs",
                    what,
                    e,
                    attempt,
                    self.attempts - 1,
                    delay,
                )
                self.sleep(delay)
        raise AssertionError("unreachable")

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            start = data.tell() if data.seekable() else None

            def put_stream() -> None:
                if start is not None:
                    data.seek(start)
                self.inner.put(key, data, options)

            return (
                self._retry(f"put {key}", put_stream)
                if start is not None
                else self.inner.put(key, data, options)
            )
        return self._retry(f"put {key}", lambda: self.inner.put(key, data, options))

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        tried = False

        def attempt() -> None:
            nonlocal tried
            try:
                self.inner.put_new(key, data, options)
            except ObjectExists:
                # An earlier attempt whose answer was lost may have stored it: that is ours.
                if not (tried and self._holds(key, data)):
                    raise
            finally:
                tried = True

        self._retry(f"put {key}", attempt)

    def _holds(self, key: str, data: bytes) -> bool:
        try:
            return self.inner.get(key) == bytes(data)
        except PgdrError:
            return False

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        return self._retry(f"get {key}", lambda: self.inner.get(key, offset, length))

    def stat(self, key: str) -> ObjectInfo | None:
        return self._retry(f"stat {key}", lambda: self.inner.stat(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Materialized so that a failure part-way is retried from the start, not half-listed.
        return iter(self._retry(f"list {prefix}", lambda: list(self.inner.list(prefix))))

    def delete(self, key: str) -> None:
        self._retry(f"delete {key}", lambda: self.inner.delete(key))

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class LimitedBackend:
    """At most ``limit`` operations in flight at once."""

    def __init__(self, inner: Backend, limit: int) -> None:
        self.inner = inner
        self.url = inner.url
        self._sem = threading.BoundedSemaphore(limit)
        self.limit = limit

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        with self._sem:
            self.inner.put(key, data, options)

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        with self._sem:
            self.inner.put_new(key, data, options)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        with self._sem:
            return self.inner.get(key, offset, length)

    def stat(self, key: str) -> ObjectInfo | None:
        with self._sem:
            return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._sem:
            return iter(list(self.inner.list(prefix)))

    def delete(self, key: str) -> None:
        with self._sem:
            self.inner.delete(key)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@dataclass
class FaultRule:
    """Fail (or corrupt) matching operations: ``ops`` like {"put"}, keys starting with
    ``prefix``, on call numbers ``calls`` (1-based, counted per rule) or with ``probability``."""

    ops: frozenset[str]
    prefix: str = ""
    calls: frozenset[int] | None = None
    probability: float = 0.0
    error: type[StorageError] = TransientStorageError
    corrupt: bool = False
    seen: int = 0
    fired: int = 0


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def check(self, op: str, key: str) -> FaultRule | None:
        with self._lock:
            for rule in self.rules:
                if op not in rule.ops or not key.startswith(rule.prefix):
                    continue
                rule.seen += 1
                hit = (rule.calls is not None and rule.seen in rule.calls) or (
                    rule.probability > 0 and self._rng.random() < rule.probability
                )
                if hit:
                    rule.fired += 1
                    return rule
        return None


class FaultyBackend:
    """Injects the faults of a FaultPlan; everything else goes to the inner backend."""

    def __init__(self, inner: Backend, plan: FaultPlan) -> None:
        self.inner = inner
        self.url = inner.url
        self.plan = plan

    def _maybe_fail(self, op: str, key: str) -> FaultRule | None:
        rule = self.plan.check(op, key)
        if rule is not None and not rule.corrupt:
            raise rule.error(f"injected fault: {op} {key}")
        return rule

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        self._maybe_fail("put", key)
        self.inner.put(key, data, options)

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        self._maybe_fail("put", key)
        self.inner.put_new(key, data, options)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        rule = self._maybe_fail("get", key)
        data = self.inner.get(key, offset, length)
        if rule is not None and rule.corrupt and data:
            flipped = bytearray(data)
            flipped[len(flipped) // 2] ^= 0x01
            return bytes(flipped)
        return data

    def stat(self, key: str) -> ObjectInfo | None:
        self._maybe_fail("stat", key)
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self._maybe_fail("list", prefix)
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._maybe_fail("delete", key)
        self.inner.delete(key)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)
