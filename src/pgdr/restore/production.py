"""Production's timeline — pure: which timeline the protected cluster's own history continues
on, and which timelines in the repository are side branches of it.

A restore beside production that promoted and archived (a row recovery with archiving left
on) puts a new timeline in the repository; PostgreSQL's `latest` — and pgdr's "newest
timeline the backup reaches" — would follow it, so every later restore and drill would
replay the side branch instead of production. The rule (docs/design.md §8c):

* Start on the timeline of the newest backup: backups are taken from production only.
* A child timeline T of the current timeline P (T's history file leaves P at switch LSN L)
  is a **side branch** when P went on after T appeared: P holds a complete WAL segment stored
  after T's history file was stored (storage times of one storage, so one clock), or the
  newest backup was taken on P after L. Otherwise T **continues** production — a failover
  (the old primary stopped), or a point-in-time restore that replaced production — and the
  walk goes on from T (the newest such child when there are several).
* Every timeline not on the resulting path is a side branch.

A side restore's timeline counts as production until the old production stores its next
WAL segment (at most `archive_timeout` on a busy or idle server). A replaced production
that kept archiving after its replacement appeared makes the replacement look like a side
branch until a backup is taken on the new timeline — take one after a failover or a
replacing restore; `--timeline` overrides the choice for a single restore.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pgdr.catalog.manifest import BackupManifest
from pgdr.catalog.wal import Timelines
from pgdr.pg.timeline import TimelineHistoryError, TimelineSwitch, ancestry, reaches
from pgdr.pg.wal import format_lsn, history_name, is_segment


@dataclass(frozen=True)
class Branch:
    """A timeline in the repository that is not production's."""

    timeline: int
    parent: int
    switch_lsn: str


@dataclass(frozen=True)
class Lineage:
    #: Production's timeline now (the end of its path).
    timeline: int
    #: Production's path: every timeline in its ancestry, oldest first.
    path: list[int]
    #: Timelines in the repository that are not on the path.
    branches: list[Branch] = field(default_factory=list)

    def describe(self, tli: int) -> str:
        """How `info` and drill reports name a timeline."""
        if tli == self.timeline:
            return "production"
        if tli in self.path:
            return f"production's history (left at timeline {self.path[self.path.index(tli) + 1]})"
        for b in self.branches:
            if b.timeline == tli:
                return f"side branch off timeline {b.parent} at {b.switch_lsn}"
        return "unknown"


def production_lineage(
    backups: Sequence[BackupManifest],
    stored: dict[int, dict[str, datetime | None]],
    histories: dict[int, list[TimelineSwitch]],
) -> Lineage:
    """Production's timeline by the rule in the module docstring. ``stored``: every archived
    WAL file name per timeline with its storage time (None where the storage cannot tell)."""
    newest = max(backups, key=lambda b: b.stop_time) if backups else None
    current = newest.timeline if newest else min(stored, default=1)
    usable = {t: h for t, h in histories.items() if h and _valid(t, h)}
    while True:
        children = [t for t, h in usable.items() if t > current and h[-1].parent_tli == current]
        follow = [
            t
            for t in children
            if not _lived_on(stored.get(current, {}), stored.get(t, {}).get(history_name(t)))
            and not (newest is not None and _left_before(newest, current, usable[t]))
        ]
        if not follow:
            break
        current = max(follow)
    path = [s.tli for s in ancestry(current, usable.get(current, []))]
    branches = [
        Branch(t, usable[t][-1].parent_tli, format_lsn(usable[t][-1].switch_lsn))
        if t in usable
        else Branch(t, 0, "?")
        for t in sorted((set(stored) | set(usable)) - set(path))
    ]
    return Lineage(current, path, branches)


def timeline_to_follow(
    backup: BackupManifest, lineage: Lineage, histories: Timelines
) -> str | None:
    """Production's timeline when ``backup`` reaches it (restore and drills follow it), else
    None (the caller keeps its own choice)."""
    if lineage.timeline == backup.timeline:
        return str(lineage.timeline)
    try:
        spans = ancestry(lineage.timeline, histories.get(lineage.timeline, []))
    except TimelineHistoryError:
        return None
    if reaches(backup.timeline, backup.start_lsn, spans):
        return str(lineage.timeline)
    return None


def _valid(tli: int, history: list[TimelineSwitch]) -> bool:
    try:
        ancestry(tli, history)
    except TimelineHistoryError:
        return False
    return True


def _lived_on(parent: dict[str, datetime | None], child_appeared: datetime | None) -> bool:
    """The parent stored a complete segment after the child's history file was stored."""
    if child_appeared is None:
        return False
    return any(is_segment(n) and t is not None and t > child_appeared for n, t in parent.items())


def _left_before(backup: BackupManifest, current: int, history: list[TimelineSwitch]) -> bool:
    """The child left ``current`` before the newest backup on it started: production went on."""
    if backup.timeline != current:
        return False
    return history[-1].switch_lsn <= backup.start_lsn
