"""Whether an incremental backup must be taken as a full.

The first backup of a cluster — or the first on a timeline that no full backup reaches —
holds everything, so it is recorded as a full (id ``…ZF-…``, type ``full``), the way
pgBackRest turns an incr/diff without a prior full into a full. Every manifest references its
blobs directly (docs/design.md §8c), so the type changes no byte stored: it says what the
backup is, and retention's ``keep_full`` counts it.

A full is *usable* when its manifest reads, names this cluster's system identifier, and its
timeline lies on the current timeline's history (``pgdr.pg.timeline.reaches``). Fulls are
found by the type letter of their id. On timeline 1 that listing decides (every full of the
repository is of this cluster and on timeline 1); on a later timeline they are confirmed by
their manifest, newest first, so a backup reads one manifest in the usual case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pgdr.catalog.load import read_backup
from pgdr.catalog.manifest import KIND, ManifestError
from pgdr.catalog.wal import read as read_wal
from pgdr.errors import PgdrError
from pgdr.pg.timeline import TimelineHistoryError, ancestry, parse_history, reaches
from pgdr.pg.wal import Lsn, history_name
from pgdr.repo.repository import Repository

#: What ``pgdr backup`` prints when it takes a full although an incremental was asked for.
NO_FULL = "no full backup yet: taking a full"

_FULL_ID = re.compile(r"^\d{8}T\d{6}ZF")


@dataclass(frozen=True)
class FullFacts:
    """What decides whether a full backup can stand behind the next incremental."""

    system_identifier: str
    timeline: int
    start_lsn: Lsn


def full_reaches(
    full: FullFacts, system_identifier: str, timeline: int, history: str | None
) -> bool:
    """Pure: ``full`` is of this cluster and on ``timeline``'s history (``history``: the
    text of the timeline's history file; None = not archived yet, then only fulls of the
    same timeline count)."""
    if full.system_identifier != system_identifier:
        return False
    if history is None:
        return full.timeline == timeline
    try:
        spans = ancestry(timeline, parse_history(history) if timeline > 1 else [])
    except (TimelineHistoryError, ValueError):
        return full.timeline == timeline
    return reaches(full.timeline, full.start_lsn, spans)


def effective_type(
    requested: str,
    fulls: Iterable[FullFacts],
    system_identifier: str,
    timeline: int,
    history: str | None,
) -> str:
    """Pure: ``full`` when ``requested`` is ``incr`` but no full in ``fulls`` is usable
    (``fulls`` is consumed lazily: the first usable one decides)."""
    if requested != "incr":
        return requested
    if any(full_reaches(f, system_identifier, timeline, history) for f in fulls):
        return "incr"
    return "full"


def backup_type(repo: Repository, requested: str, system_identifier: str, timeline: int) -> str:
    """The type to take: ``requested``, or ``full`` for an incremental no full can stand
    behind."""
    if requested != "incr":
        return requested
    fulls = [b for b in repo.list_manifests(KIND) if _FULL_ID.match(b)]
    if timeline == 1:
        # Every full of this repository is of this cluster (pgdr.wal.cluster refuses
        # another) and on timeline 1's history: the listing decides, no manifest is read
        # (a manifest holds 32 bytes per 32 KiB chunk stored: ~1 GB for 1 TB).
        return "incr" if fulls else "full"
    history = _history(repo, timeline)
    return effective_type(
        requested, _newest_first(repo, fulls), system_identifier, timeline, history
    )


def _newest_first(repo: Repository, fulls: list[str]) -> Iterable[FullFacts]:
    for bid in sorted(fulls, reverse=True):
        try:
            m, _stored = read_backup(repo, bid)
        except (PgdrError, ManifestError):
            continue  # deleted since the listing, or damaged: not usable
        if m.type == "full":
            yield FullFacts(m.system_identifier, m.timeline, m.start_lsn)


def _history(repo: Repository, timeline: int) -> str | None:
    if timeline <= 1:
        return ""
    try:
        return read_wal(repo, history_name(timeline)).decode("utf-8", "replace")
    except PgdrError:
        return None
