"""Which exports the 7-year rule deletes (pure; table-tested in tests/unit/test_export_expiry.py).

The rule (docs/design.md §8j "Retention of exports"), in order:

1. an export under deletion protection (S3 Object Lock retention, a legal hold) is kept;
2. the newest complete export is kept, whatever its age (an archive never empties itself);
3. a complete export older than ``keep_days`` (``[exports.lifecycle] expire_days``, 2557
   days = 7 years) is deleted; ``keep_days`` None keeps complete exports for ever;
4. an incomplete export (no valid ``_SUCCESS``: a crashed or killed run) whose last write is
   older than ``incomplete_grace`` (a day) is deleted — one written to more recently may be
   running right now;
5. everything else is kept.

An export's age is counted from its id (``YYYYMMDDTHHMMSSZ-xxxxxx``: when it was started); an
id whose time does not parse is kept, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

INCOMPLETE_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class ExportAge:
    export_id: str
    complete: bool
    #: The newest modification time of its objects (None: unknown).
    last_write: datetime | None = None
    #: Why it must not be deleted (Object Lock retention, legal hold); None: deletable.
    protected: str | None = None


@dataclass(frozen=True)
class ExpiryVerdict:
    export_id: str
    delete: bool
    reason: str


def export_time(export_id: str) -> datetime | None:
    """When an export was started, from its id; None when the id's time does not parse."""
    try:
        return datetime.strptime(export_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def decide_expiry(
    exports: list[ExportAge],
    now: datetime,
    keep_days: int | None,
    incomplete_grace: timedelta = INCOMPLETE_GRACE,
) -> list[ExpiryVerdict]:
    """One verdict per export, in the order given."""
    dated = [(e, export_time(e.export_id)) for e in exports]
    complete = [(t, e.export_id) for e, t in dated if e.complete and t is not None]
    newest = max(complete)[1] if complete else None
    out: list[ExpiryVerdict] = []
    for e, started in dated:
        out.append(
            ExpiryVerdict(
                e.export_id, *_verdict(e, started, now, keep_days, newest, incomplete_grace)
            )
        )
    return out


def _verdict(
    e: ExportAge,
    started: datetime | None,
    now: datetime,
    keep_days: int | None,
    newest: str | None,
    grace: timedelta,
) -> tuple[bool, str]:
    if started is None:
        return False, "its id holds no readable time: kept"
    if e.protected:
        return False, f"protected: {e.protected}"
    age = now - started
    if e.complete:
        if e.export_id == newest:
            return False, "the newest complete export is always kept"
        if keep_days is None:
            return False, "complete exports are kept for ever (no expire_days)"
        if age > timedelta(days=keep_days):
            return True, f"complete, {age.days} days old (kept {keep_days} days)"
        return False, f"complete, {age.days} days old (kept {keep_days} days)"
    last = max(t for t in (started, e.last_write) if t is not None)
    idle = now - last
    if idle > grace:
        return True, f"incomplete, last written {_h(idle)} ago (a crashed or killed run)"
    return False, f"incomplete, last written {_h(idle)} ago: may still be running"


def _h(d: timedelta) -> str:
    s = d.total_seconds()
    return f"{s / 86400:.1f} days" if s >= 172800 else f"{s / 3600:.1f} h"
