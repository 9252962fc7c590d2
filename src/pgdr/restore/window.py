"""Is a restore target inside the recoverable window? Pure, decided before anything is copied.

The window runs from the end of the oldest backup to the end of the archived WAL on the
timeline path recovery follows. A ``--lsn`` past the end of the newest archived segment can
never be reached. A ``--time`` can only be reached if a commit at or after it is in the archived
WAL; every record of a segment was written before the segment was archived, so a time later
than the newest segment's storage time cannot be reached. Commit times come from the database
host's clock and storage times from the storage's, hence ``SKEW``: a time up to that much
after the newest segment is left to PostgreSQL (which then stops with "recovery ended before
configured recovery target was reached", and the restore reports that at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pgdr.catalog.manifest import BackupManifest
from pgdr.errors import RecoveryTargetUnreachable
from pgdr.pg.wal import format_lsn, parse_lsn, parse_segment_name
from pgdr.restore.plan import Target

SKEW = timedelta(seconds=60)
NEXT_STEP = (
    "choose a target inside the window; if production has newer WAL not archived yet, run "
    "SELECT pg_switch_wal() on production and retry"
)


@dataclass(frozen=True)
class WalEnd:
    """The newest archived WAL file on the followed timeline path."""

    name: str
    lsn: int  # where that file ends (exclusive)
    archived_at: datetime | None


def wal_end(
    run: list[str], seg_size: int, archived_at: dict[str, datetime | None]
) -> WalEnd | None:
    """``run``: the path's WAL files in order (``check_wal`` for target latest)."""
    if not run:
        return None
    last = run[-1]
    times = [t for t in (archived_at.get(n) for n in run) if t is not None]
    end = (parse_segment_name(last, seg_size)[1] + 1) * seg_size
    return WalEnd(last, end, max(times, default=None))


def describe_window(backups: Sequence[BackupManifest], end: WalEnd | None, timeline: str) -> str:
    first = min(backups, key=lambda b: b.stop_time) if backups else None
    start = f"{first.stop_time.isoformat()} (LSN {first.stop_lsn_text})" if first else "?"
    if end is None:
        return f"the recoverable window on timeline {timeline} begins at {start}"
    at = end.archived_at.isoformat() if end.archived_at else "?"
    return (
        f"the recoverable window on timeline {timeline} is {start} .. {at} "
        f"(LSN {format_lsn(end.lsn)}, end of {end.name})"
    )


def check_target(
    target: Target,
    backups: Sequence[BackupManifest],
    end: WalEnd | None,
    timeline: str,
    now: datetime,
    skew: timedelta = SKEW,
) -> None:
    """Raise RecoveryTargetUnreachable (naming the window) for a target that cannot be
    reached: a time in the future or after the archived WAL, an LSN past its end."""
    if target.kind == "time" and target.value is not None:
        when = datetime.fromisoformat(target.value)
        if when.tzinfo is None:
            return  # choose_backup names that mistake
        if when > now + skew:
            why = f"--time {target.value} is in the future (it is {now.isoformat()} now)"
        elif end is not None and end.archived_at is not None and when > end.archived_at + skew:
            why = f"--time {target.value} is after the end of the archived WAL"
        else:
            return
    elif target.kind == "lsn" and target.value is not None and end is not None:
        if parse_lsn(target.value) <= end.lsn:
            return
        why = f"--lsn {target.value} is after the end of the archived WAL"
    else:
        return
    raise RecoveryTargetUnreachable(
        f"{why}: {describe_window(backups, end, timeline)}", hint=NEXT_STEP
    )
