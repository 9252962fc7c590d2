"""A drill's steps: each one timed, and SIGTERM (a scheduler stopping the drill) unwinding
like Ctrl-C while steps run, ignored while cleanup runs (a SIGKILL is handled by the next
drill)."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

from pgdr.drill.record import Step
from pgdr.errors import Interrupted


class StepClock:
    """Each step's wall time, in order; ``current`` names the step running (for errors)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.current = ""

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current, t = name, time.monotonic()
        try:
            yield
        finally:
            self.steps.append(Step(name, round(time.monotonic() - t, 3)))


def _interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"drill stopped by signal {signum}")


def sigterm_interrupts() -> contextlib.AbstractContextManager[None]:
    """SIGTERM (a scheduler stopping us) unwinds like Ctrl-C, so cleanup runs."""
    return _on_sigterm(_interrupted)


def sigterm_ignored() -> contextlib.AbstractContextManager[None]:
    """Cleanup is not interrupted by a second SIGTERM (a SIGKILL is handled by the next run)."""
    return _on_sigterm(signal.SIG_IGN)


@contextlib.contextmanager
def _on_sigterm(action: Any) -> Iterator[None]:
    try:
        old = signal.signal(signal.SIGTERM, action)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
