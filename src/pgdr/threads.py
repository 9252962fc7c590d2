"""Work started on a thread of its own while the caller goes on (kept out of ``pgdr.proc``,
which the archive_command's fast path imports without ``typing``)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def on_thread(name: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
    """``fn(*args, **kwargs)`` on a thread of its own (named ``name``), started now; the
    thread ends with the call. ``result()`` returns or raises what the call did."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)
