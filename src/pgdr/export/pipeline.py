"""Reading ahead: a thread pulls the next batches (ADBC's COPY stream, then the conversions)
while the caller encodes Parquet, so the two overlap on two cores instead of taking turns
(docs/design.md §8j)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``depth`` of them ahead. An
    exception of the producer is raised here, in the consumer; when the consumer stops early
    (an exception, or it closes the generator) the producer stops after its current item."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_Failure(exc))

    thread = threading.Thread(target=pump, name="pgdr-export-read", daemon=True)
    thread.start()
    try:
        while True:
            got = q.get()
            if got is _DONE:
                return
            if isinstance(got, _Failure):
                raise got.exc
            yield got  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
