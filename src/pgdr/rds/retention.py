"""Which manual snapshots to keep: the SAME pure policy as repository backups
(``pgdr.retention.policy.decide``), through a thin mapping, per region.

A snapshot is a backup with no WAL: one full "backup" on timeline 1 that ended at its
creation time. ``[rds.snapshots] keep_days`` is the window, ``keep_count`` is ``keep_full``.
So, as for backups: every snapshot taken inside the window is kept, plus the newest one taken
at or before the window start (it restores the window's first day), plus the newest
``keep_count``; and the floor keeps the newest snapshot whatever the settings say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pgdr.pg.wal import Lsn
from pgdr.retention.policy import BackupFacts, Policy, decide


@dataclass(frozen=True)
class Snapshot:
    region: str
    identifier: str
    created: datetime
    arn: str = ""
    status: str = "available"


@dataclass(frozen=True)
class SnapshotVerdict:
    region: str
    identifier: str
    created: datetime
    keep: bool
    reason: str


def judge(
    snapshots: Sequence[Snapshot], now: datetime, keep_days: int, keep_count: int
) -> list[SnapshotVerdict]:
    """Keep or remove, with the reason, for every snapshot; each region judged on its own
    (a DR region's copies must not depend on the primary's). Snapshots not yet
    ``available`` are always kept (a copy in progress is not garbage)."""
    policy = Policy(window=timedelta(days=keep_days), keep_full=keep_count)
    out: list[SnapshotVerdict] = []
    for region in sorted({s.region for s in snapshots}):
        mine = [s for s in snapshots if s.region == region]
        ready = [s for s in mine if s.status == "available"]
        facts = [
            BackupFacts(
                id=s.identifier, type="full", stop_time=s.created, start_lsn=Lsn(0), timeline=1
            )
            for s in ready
        ]
        decision = decide(facts, [], {}, now, policy)
        by_id = {v.name: v for v in decision.backups}
        for s in sorted(mine, key=lambda s: (s.created, s.identifier)):
            v = by_id.get(s.identifier)
            if v is None:
                out.append(
                    SnapshotVerdict(region, s.identifier, s.created, True, f"still {s.status}")
                )
            else:
                out.append(
                    SnapshotVerdict(region, s.identifier, s.created, v.keep, _words(v.reason))
                )
    return out


_WORDS = (
    # a snapshot has no WAL and no timelines: say what the policy's reasons mean for it
    (" on timeline 1 (newest backup that ended", " (newest snapshot taken"),
    ("ended inside", "taken inside"),
    ("ended ", "taken "),
    (
        "newest restorable backup of the current timeline 1 (never expired: the last restore point); ",
        "",
    ),
    (
        "newest restorable backup (never expired: the last restore point)",
        "newest snapshot (never expired)",
    ),
    ("keep_full", "keep_count"),
    (" full backups", " snapshots"),
    ("backup", "snapshot"),
)


def _words(reason: str) -> str:
    for old, new in _WORDS:
        reason = reason.replace(old, new)
    return reason
