"""Schedule expressions (pure): when a job kind is due.

Accepted forms, all in UTC:

* five-field cron (``minute hour day-of-month month day-of-week``), e.g. ``0 3 * * 1-6``;
* the macros ``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``;
* an interval ``@every N[s|m|h|d]`` whose slots are the multiples of N since the Unix epoch
  (``@every 5s`` fires at :00, :05, :10, … — used by tests and sub-minute schedules);
* ``off`` (or an empty string): never.

A *slot* is one scheduled instant. ``latest(now)`` is the newest slot at or before ``now``;
slots identify runs, so the same slot is never run twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EVERY = re.compile(r"^@every\s+(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MACROS = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")
OFF = ("", "off", "never")


def syntax_problem(expr: str) -> str | None:
    """A cheap syntactic check (no croniter import) for config validation; ``Schedule.parse``
    does the full check. None when the expression looks valid."""
    e = expr.strip()
    if e.lower() in OFF or e in _MACROS or _EVERY.match(e):
        return None
    if e.startswith("@"):
        return "unknown schedule: use @hourly/@daily/@weekly/@monthly, @every 30s or cron"
    fields = e.split()
    if len(fields) != 5:
        return (
            f"schedule has {len(fields)} fields: use five-field cron "
            "(minute hour day month weekday) or @every N[s|m|h|d] for sub-minute schedules"
        )
    if not all(_FIELD.match(f) for f in fields):
        return "schedule has invalid characters"
    return None


@dataclass(frozen=True)
class Schedule:
    expr: str
    interval_s: float | None = None  # @every form
    off: bool = False

    @classmethod
    def parse(cls, expr: str) -> Schedule:
        """Raise ValueError with a one-line reason for anything that is not a schedule."""
        e = expr.strip()
        if e.lower() in OFF:
            return cls(e, off=True)
        problem = syntax_problem(e)
        if problem:
            raise ValueError(problem)
        m = _EVERY.match(e)
        if m:
            secs = float(m.group(1)) * _UNIT[m.group(2)]
            if secs < 1:
                raise ValueError("the interval must be at least 1 s")
            return cls(e, interval_s=secs)
        from croniter import croniter

        if not croniter.is_valid(e):
            raise ValueError("not a valid cron expression")
        return cls(e)

    def latest(self, now: datetime) -> datetime | None:
        """The newest slot at or before ``now`` (None when off)."""
        if self.off:
            return None
        if self.interval_s is not None:
            ts = now.timestamp()
            return datetime.fromtimestamp(ts - ts % self.interval_s, UTC)
        from croniter import croniter

        base = now.astimezone(UTC).replace(microsecond=0)
        if croniter.match(self.expr, base) and base.second == 0:
            return base
        prev: datetime = croniter(self.expr, base).get_prev(datetime)
        return prev.astimezone(UTC)

    def next(self, after: datetime) -> datetime | None:
        """The first slot strictly after ``after`` (None when off)."""
        if self.off:
            return None
        if self.interval_s is not None:
            ts = after.timestamp()
            return datetime.fromtimestamp(ts - ts % self.interval_s + self.interval_s, UTC)
        from croniter import croniter

        base = after.astimezone(UTC)
        nxt: datetime = croniter(self.expr, base).get_next(datetime)
        return nxt.astimezone(UTC)

    def slots_between(self, after: datetime, until: datetime, limit: int = 10_000) -> int:
        """How many slots lie in (after, until] — the runs a coalesced run stands in for."""
        if self.off or until <= after:
            return 0
        if self.interval_s is not None:
            p = self.interval_s
            return max(0, int(until.timestamp() // p) - int(after.timestamp() // p))
        n, t = 0, after
        while n < limit:
            nxt = self.next(t)
            if nxt is None or nxt > until:
                break
            n, t = n + 1, nxt
        return n

    def period(self, now: datetime) -> timedelta | None:
        """The gap between the slot before ``now`` and the one after it (for display)."""
        last, nxt = self.latest(now), self.next(now)
        if last is None or nxt is None:
            return None
        return nxt - last

    def longest_gap(self, at: datetime, slots: int = 32) -> timedelta | None:
        """The longest gap between consecutive slots among the ``slots`` slots up to ``at``:
        how far apart two on-time runs may be (``0 4 1 * *``: 31 days; None when off)."""
        if self.off:
            return None
        if self.interval_s is not None:
            return timedelta(seconds=self.interval_s)
        t = self.latest(at)
        gaps: list[timedelta] = []
        for _ in range(slots):
            if t is None:
                break
            prev = self.latest(t - timedelta(seconds=1))
            if prev is None or prev >= t:
                break
            gaps.append(t - prev)
            t = prev
        return max(gaps) if gaps else None


def slot_id(slot: datetime) -> str:
    """``20261124T030000Z`` — a slot as it appears in job record ids."""
    return slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
