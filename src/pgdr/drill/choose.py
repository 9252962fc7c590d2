"""Which backup a drill restores and to which point — pure, given the backups, the time of
the newest archived WAL and a random generator (seedable, so a drill can be replayed)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pgdr.catalog.manifest import BackupManifest
from pgdr.errors import UsageError
from pgdr.restore.plan import Target, choose_backup


@dataclass(frozen=True)
class Choice:
    backup_id: str
    target: Target
    #: What the restored data is measured against for recency / RPO: the target time, or
    #: the drill's start for "latest".
    reference: datetime


def _when(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--target {value!r}: expected latest, random or an ISO 8601 time"
        ) from None
    if t.tzinfo is None:
        raise UsageError(f"--target {value!r} needs a time zone, e.g. 2026-11-24T03:00:00+00:00")
    return t


def choose(
    backups: Sequence[BackupManifest],
    backup: str,
    target: str,
    newest_wal: datetime | None,
    now: datetime,
    rng: random.Random,
) -> Choice:
    """``backup``: latest | random | an id or label. ``target``: latest | random | a time."""
    if not backups:
        raise UsageError(
            "the repository has no backups: nothing to drill; take one with `pgdr backup`"
        )
    ordered = sorted(backups, key=lambda b: b.stop_time)
    if backup == "random":
        pinned: BackupManifest | None = rng.choice(ordered)
    elif backup == "latest":
        pinned = None
    else:
        named = [b for b in ordered if backup in (b.id, b.label)]
        if not named:
            raise UsageError(
                f"--backup {backup!r}: no backup with that id or label; see `pgdr info`"
            )
        pinned = named[-1]
    if target == "latest":
        b = pinned or ordered[-1]
        return Choice(b.id, Target("latest"), now)
    if target == "random":
        b = pinned or ordered[-1]
        lo = b.stop_time
        hi = max(lo, newest_wal) if newest_wal else lo
        when = lo + (hi - lo) * rng.random()
        return Choice(b.id, Target("time", when.isoformat()), when)
    when = _when(target)
    t = Target("time", when.isoformat())
    b = pinned or choose_backup(ordered, t)
    if b.stop_time > when:
        raise UsageError(
            f"backup {b.id} ended at {b.stop_time.isoformat()}, after --target {target}"
        )
    return Choice(b.id, t, when)
