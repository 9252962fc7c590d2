"""Pure timeline-history logic: which timeline's WAL file holds which segment. No I/O.

A history file ``0000000N.history`` lists every switch in timeline N's ancestry, one per
line: ``parentTLI<TAB>switchpoint<TAB>reason``; ``#`` comments and blank lines are ignored
(``readTimeLineHistory`` in ``src/backend/access/transam/timeline.c``). Timeline 1 has no
history file: its history is the empty list.

Rules implemented (with their PostgreSQL source):

* **Spans** — the parent ran over ``[previous switchpoint, switchpoint)``, the child starts
  *at* the switchpoint; the target timeline's span is open-ended. (``readTimeLineHistory``)
* **LSN → timeline** — ``lsn`` belongs to the span with ``begin <= lsn < end``; the switch
  LSN itself belongs to the *new* timeline. (``tliOfPointInHistory``)
* **Segment → file** — to read segment ``segno``, recovery tries the timelines of the target's
  history *newest first*, skipping any timeline whose ``begin`` lies in a later segment, and
  opens the first file that exists (``XLogFileReadAnyTLI`` in ``xlogrecovery.c``). With a
  complete archive that is: the newest timeline ``t`` with ``segno_of(begin_t) <= segno``.
  So the segment containing a switch LSN is read from the NEW timeline (at promotion the
  new timeline's first segment is a copy of the parent's up to the switch), and every
  segment before it from an ancestor. The parent's own copy of that segment (often archived
  as ``.partial``) is never needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from pgdr.pg.wal import (
    DEFAULT_SEG_SIZE,
    Lsn,
    WalError,
    format_lsn,
    parse_lsn,
    segment_name,
    segments_between,
    segno_of_lsn,
)

# PostgreSQL reads lines with sscanf("%u\t%X/%X"), where the tab matches any whitespace.
_LINE_RE = re.compile(r"(\d+)\s+([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})(?:\s+(.*))?")


class TimelineHistoryError(WalError):
    """A timeline history file is malformed or inconsistent."""

    kind = "timeline-history"


class TimelineSwitch(NamedTuple):
    """One history line: ``parent_tli`` ended at ``switch_lsn`` and a child began there."""

    parent_tli: int
    switch_lsn: Lsn
    reason: str


class TimelineSpan(NamedTuple):
    """A timeline in an ancestry: WAL ``[begin_lsn, end_lsn)``; ``end_lsn`` None = open."""

    tli: int
    begin_lsn: Lsn
    end_lsn: Lsn | None


def parse_history(content: str) -> list[TimelineSwitch]:
    """Parse a history file's text into its switches, oldest first.

    Validates what PostgreSQL validates (numeric TLI, a switchpoint, TLIs strictly
    increasing) and additionally that switchpoints never go backwards.
    """
    switches: list[TimelineSwitch] = []
    for lineno, raw in enumerate(content.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE_RE.fullmatch(line)
        if m is None:
            raise TimelineHistoryError(f"syntax error in timeline history line {lineno}: {line!r}")
        switch = TimelineSwitch(int(m.group(1)), parse_lsn(m.group(2)), (m.group(3) or "").strip())
        if switch.parent_tli < 1:
            raise TimelineHistoryError(f"timeline history line {lineno}: timeline must be >= 1")
        _check_order(switches, switch, lineno)
        switches.append(switch)
    return switches


def _check_order(prev: list[TimelineSwitch], new: TimelineSwitch, where: object) -> None:
    if prev and new.parent_tli <= prev[-1].parent_tli:
        raise TimelineHistoryError(f"timeline history {where}: timeline IDs must increase")
    if prev and new.switch_lsn < prev[-1].switch_lsn:
        raise TimelineHistoryError(f"timeline history {where}: switchpoints go backwards")


def format_history(history: Sequence[TimelineSwitch]) -> str:
    """Render switches the way PostgreSQL writes them (``%u\\t%X/%X\\t%s\\n``)."""
    return "".join(f"{s.parent_tli}\t{format_lsn(s.switch_lsn)}\t{s.reason}\n" for s in history)


def ancestry(target_tli: int, history: Sequence[TimelineSwitch]) -> list[TimelineSpan]:
    """Spans of every timeline in ``target_tli``'s history, oldest first.

    ``history`` is the content of ``target_tli``'s own history file (``[]`` for timeline 1).
    The first span begins at 0 and the last (``target_tli``) has ``end_lsn=None``.
    Note: PostgreSQL keeps this list newest first; ours is oldest first.
    """
    for i in range(1, len(history)):
        _check_order([history[i - 1]], history[i], f"entry {i + 1}")
    if history and target_tli <= history[-1].parent_tli:
        raise TimelineHistoryError(
            f"timeline {target_tli} cannot descend from timeline {history[-1].parent_tli}"
        )
    if target_tli < 1:
        raise TimelineHistoryError(f"invalid timeline {target_tli}")
    spans: list[TimelineSpan] = []
    begin = 0
    for s in history:
        spans.append(TimelineSpan(s.parent_tli, begin, s.switch_lsn))
        begin = s.switch_lsn
    spans.append(TimelineSpan(target_tli, begin, None))
    return spans


def reaches(backup_tli: int, start_lsn: Lsn, spans: Sequence[TimelineSpan]) -> bool:
    """Whether a backup taken on ``backup_tli`` starting at ``start_lsn`` lies on the path
    described by ``spans`` (an ``ancestry``): its timeline is in it and the path had not yet
    left that timeline when the backup started."""
    for s in spans:
        if s.tli == backup_tli:
            return s.begin_lsn <= start_lsn and (s.end_lsn is None or start_lsn < s.end_lsn)
    return False


def timeline_for_lsn(target_tli: int, history: Sequence[TimelineSwitch], lsn: Lsn) -> int:
    """Timeline whose WAL holds the record at ``lsn`` on the way to ``target_tli``.

    A switch LSN belongs to the new timeline (``tliOfPointInHistory``).
    """
    for span in ancestry(target_tli, history):
        if span.begin_lsn <= lsn and (span.end_lsn is None or lsn < span.end_lsn):
            return span.tli
    # Only reachable when a parent's span is empty and lsn precedes everything: impossible
    # because the first span begins at 0.
    raise TimelineHistoryError(f"LSN {format_lsn(lsn)} is not covered by the history")


def candidate_timelines(
    target_tli: int,
    history: Sequence[TimelineSwitch],
    segno: int,
    seg_size: int = DEFAULT_SEG_SIZE,
) -> list[int]:
    """Timelines recovery tries, in order, when it needs segment ``segno``.

    Newest first, skipping timelines that begin in a later segment (``XLogFileReadAnyTLI``).
    The first entry is the file a complete archive serves; the rest are fallbacks.
    """
    spans = ancestry(target_tli, history)
    return [
        s.tli
        for s in reversed(spans)
        if s.begin_lsn == 0 or segno_of_lsn(s.begin_lsn, seg_size) <= segno
    ]


def segments_needed(
    target_tli: int,
    history: Sequence[TimelineSwitch],
    start_lsn: Lsn,
    end_lsn: Lsn,
    seg_size: int = DEFAULT_SEG_SIZE,
) -> list[tuple[int, int]]:
    """``(tli, segno)`` of every WAL file needed to replay ``[start_lsn, end_lsn)``.

    The segment range is :func:`pgdr.pg.wal.segments_between`; each segment is taken from the
    first of :func:`candidate_timelines` — the newest timeline in the target's history that
    had begun by that segment. Also fetch the history files of every timeline after the
    first one involved (``ancestry`` tells which) — recovery reads them first.
    """
    spans = ancestry(target_tli, history)
    begins = [
        (s.tli, 0 if s.begin_lsn == 0 else segno_of_lsn(s.begin_lsn, seg_size)) for s in spans
    ]
    needed: list[tuple[int, int]] = []
    for segno in segments_between(start_lsn, end_lsn, seg_size):
        tli = next(t for t, first in reversed(begins) if first <= segno)
        needed.append((tli, segno))
    return needed


def segment_files_needed(
    target_tli: int,
    history: Sequence[TimelineSwitch],
    start_lsn: Lsn,
    end_lsn: Lsn,
    seg_size: int = DEFAULT_SEG_SIZE,
) -> list[str]:
    """Like :func:`segments_needed` but as WAL file names."""
    return [
        segment_name(tli, segno, seg_size)
        for tli, segno in segments_needed(target_tli, history, start_lsn, end_lsn, seg_size)
    ]
