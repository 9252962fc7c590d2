"""Waiting for an AWS resource to reach a state: polled with a growing interval up to a
deadline, then AwsWaitTimeout (exit 105) naming what was awaited and its last state. The
clock and the sleep are injectable (tests against moto, whose resources are ready at once,
never sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pgdr.errors import AwsError, AwsWaitTimeout


@dataclass(frozen=True)
class Waiting:
    timeout_s: float = 3600.0
    first_interval_s: float = 5.0
    max_interval_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def wait_for(
    what: str,
    state: Callable[[], str],
    done: set[str],
    failed: set[str],
    waiting: Waiting,
) -> str:
    """Poll ``state()`` until it is in ``done`` (returned); a state in ``failed`` raises
    AwsError at once; past the deadline AwsWaitTimeout."""
    deadline = waiting.clock() + waiting.timeout_s
    interval = waiting.first_interval_s
    while True:
        now_state = state()
        if now_state in done:
            return now_state
        if now_state in failed:
            raise AwsError(f"{what}: ended in state {now_state!r}")
        if waiting.clock() >= deadline:
            raise AwsWaitTimeout(
                f"{what}: still {now_state!r} after {waiting.timeout_s:.0f} s; "
                "it may still finish: check again later"
            )
        waiting.sleep(min(interval, max(0.0, deadline - waiting.clock())))
        interval = min(interval * 2, waiting.max_interval_s)
