"""A hard time limit per storage operation, for backends reached over a network.

An endpoint that accepts connections but never answers (a paused proxy, a hung load balancer)
is not an error to a socket: each read waits its full timeout, the client library retries,
pgdr retries on top. ``DeadlineBackend`` runs each operation in a daemon thread and stops
waiting for it after ``timeout`` seconds, or when an absolute ``deadline`` (a whole command's
budget, e.g. archive_command's) runs out, whichever comes first, raising StorageUnreachable
that names the endpoint. The abandoned thread ends on its own socket timeout; being a daemon
thread, it never keeps the process alive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from pgdr.errors import StorageUnreachable
from pgdr.storage.base import Backend, ObjectInfo, PutOptions

T = TypeVar("T")


def remaining(timeout: float, deadline: float | None, now: float) -> float:
    """Seconds an operation starting at ``now`` may take (pure)."""
    return timeout if deadline is None else min(timeout, deadline - now)


class DeadlineBackend:
    def __init__(
        self,
        inner: Backend,
        timeout: float,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.url = inner.url
        self.timeout = timeout
        self.deadline = deadline
        self.clock = clock

    def _where(self) -> str:
        where = getattr(self.inner, "where", None)
        return where if isinstance(where, str) else self.url

    def _run(self, what: str, fn: Callable[[], T]) -> T:
        budget = remaining(self.timeout, self.deadline, self.clock())
        if budget <= 0:
            raise StorageUnreachable(
                f"{self._where()}: no time left to {what} (the command's storage deadline passed)"
            )
        box: dict[str, object] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # handed to the waiting caller
                box["error"] = e
            finally:
                done.set()

        threading.Thread(target=work, daemon=True, name="pgdr-storage-op").start()
        if not done.wait(budget):
            raise StorageUnreachable(
                f"{self._where()} did not answer: {what} took more than {budget:.0f} s",
                hint="is the endpoint up and reachable? limits: operation_timeout_s, "
                "connect_timeout_s, read_timeout_s; wal-push: [wal] push_timeout_s",
            )
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        self._run(f"write {key}", lambda: self.inner.put(key, data, options))

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        self._run(f"write {key}", lambda: self.inner.put_new(key, data, options))

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        return self._run(f"read {key}", lambda: self.inner.get(key, offset, length))

    def stat(self, key: str) -> ObjectInfo | None:
        return self._run(f"stat {key}", lambda: self.inner.stat(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return iter(self._run(f"list {prefix or '/'}", lambda: list(self.inner.list(prefix))))

    def delete(self, key: str) -> None:
        self._run(f"delete {key}", lambda: self.inner.delete(key))

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def set_deadline(backend: Backend, deadline: float) -> None:
    """Give every deadline-aware wrapper in ``backend``'s stack a new absolute deadline (the
    wrappers read ``deadline`` per operation): a long-lived process (the WAL pusher) serving
    one request at a time bounds each request as a synchronous push is bounded."""
    b: object | None = backend
    while b is not None:
        attrs = vars(b) if hasattr(b, "__dict__") else {}
        if "deadline" in attrs:
            b.deadline = deadline  # type: ignore[attr-defined]
        b = attrs.get("inner")
