"""What a restore places beside the restored server for its restore_command — pure functions.

Recovery asks restore_command for WAL segments, for history files and, when it promotes, for
the history files above its timeline (PostgreSQL's ``findNewestTimeLine``: it probes
``<timeline+1>.history`` upwards and takes the first one that is not archived). The restore
already knows most answers: it places the files recovery will read (``<spool>/prefetch/``)
and leaves an empty marker for a name it knows is not archived (``<spool>/absent/``), so
the restore_command's shell answers without starting Python. A name the restore cannot be
sure of — a segment after the end of the archive, which production may archive after the
restore ran — is never marked: restore_command asks the repository for it.
"""

from __future__ import annotations

from datetime import datetime

from pgdr.catalog.manifest import BackupManifest
from pgdr.pg.wal import history_name, is_history, timeline_of_history
from pgdr.restore.plan import Target, parse_time
from pgdr.restore.window import SKEW

#: At most this much WAL is placed before the start (1 GiB: 64 segments of 16 MiB); recovery
#: fetches what lies beyond (the prefetcher of ``pgdr wal-fetch`` runs ahead of replay).
PLACE_WAL_BYTES = 1 << 30
#: Segments placed after the first one stored after a ``--time`` target: the record that
#: reaches past the target and PostgreSQL's read-ahead may cross into the next segment.
READ_AHEAD = 1


def wal_to_place(
    backup: BackupManifest,
    run: list[str],
    target: Target,
    stored_at: dict[str, datetime | None],
    bound: int = PLACE_WAL_BYTES,
) -> list[str]:
    """The segments of ``run`` (``check_wal``'s, in the order recovery reads them) that
    recovery reads up to ``target``, at most ``bound`` bytes of them but always the backup's
    own. For a ``--time`` target, nothing after the first segment stored more than ``SKEW``
    after it (and ``READ_AHEAD``): every segment stored by then was written by then, so
    recovery usually stops in that one; if it needs more (the segment was stored late, not
    holding the first commit after the target), restore_command fetches it as usual."""
    names = run
    if target.kind == "time" and target.value is not None:
        after = parse_time(target.value) + SKEW
        for i, name in enumerate(run):
            when = stored_at.get(name)
            if when is not None and when > after:
                names = run[: i + 1 + READ_AHEAD]
                break
    count = max(bound // backup.wal_segment_size, len(backup.wal), 1)
    return names[:count]


def histories_above(timeline: str, archived: dict[int, list[str]]) -> tuple[list[str], int]:
    """The archived history files recovery meets when it promotes from ``timeline`` (the
    consecutive ones above it, which it skips) and the timeline it then takes."""
    if not timeline.isdigit():
        return [], 0
    have = {timeline_of_history(n) for names in archived.values() for n in names if is_history(n)}
    nxt = int(timeline) + 1
    found: list[str] = []
    while nxt in have:
        found.append(history_name(nxt))
        nxt += 1
    return found, nxt


def known_absent(
    timeline: str, archived: dict[int, list[str]], target: Target, action: str
) -> list[str]:
    """Names the restore_command may answer "not archived" without asking the repository:
    the history file of the timeline a promotion takes, for a restore to a point in the
    past that promotes. Not for target ``latest`` (production is live and keeps the
    repository changing: ``pgdr wal-fetch`` answers the end-of-archive probe and records the
    same answer then, moments before the promotion) nor for one that pauses (it may be
    promoted much later). Segments are never in it: production may archive the next one
    after the restore ran."""
    if target.kind == "latest" or action != "promote":
        return []
    _found, nxt = histories_above(timeline, archived)
    return [history_name(nxt)] if nxt > 1 else []
