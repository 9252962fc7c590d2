"""Retention policy — a pure function: which backups and WAL files to keep, each with a reason.

The promise: every second of the window ``(now - window, now]`` stays restorable, on every
timeline that was live in it. A time inside the window is restored from the newest backup
that ended at or before it, so per live timeline T we keep

* every backup that can reach T and ended inside the window, and
* the newest backup that can reach T and ended at or before the window start (the anchor:
  it restores the window's first second),

plus the newest ``keep_full`` full and ``keep_incremental`` incremental backups. Every backup
references its blobs directly (docs/design.md §8c), so an incremental never needs the full
before it: each backup is judged on its own.

The floor, which no policy setting lowers: the newest *restorable* backup (every WAL segment
of its own start..stop range archived) that reaches the *current* timeline, and the newest
restorable backup overall, are always kept with the WAL they replay, and so is the newest
backup of all (its WAL may still arrive when archiving catches up). The current timeline is
the one with the most recent activity (a backup that ended, or WAL archived), whether or not
that activity is inside the window: a cluster that was idle, or whose archiving broke, for
longer than the window is exactly when its last backups matter. A window-only rule would
expire every backup of such a cluster (no timeline is live); the floor keeps its last
restore point. Where no backup is restorable at all, the newest backup is kept and a warning
says so.

WAL: for each timeline t, every segment from the first one that a kept backup reaching t
replays on t is kept, and everything before it removed (``.partial`` and ``.backup`` files
by their segment). A timeline no kept backup reaches is removed entirely unless it is live
(a backup that ended, or WAL archived, inside the window). ``.history`` files are always kept.

"Backup B reaches timeline T": B's timeline is in T's ancestry (T's history file) and B
started before T's ancestry left B's timeline — replaying from B can follow the switches to T.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pgdr.pg.timeline import TimelineHistoryError, TimelineSpan, TimelineSwitch, ancestry, reaches
from pgdr.pg.wal import (
    DEFAULT_SEG_SIZE,
    Lsn,
    is_backup_history,
    is_history,
    is_partial,
    is_segment,
    parse_segment_name,
    segment_name,
    segno_of_lsn,
)


@dataclass(frozen=True)
class BackupFacts:
    id: str
    type: str  # "full" | "incr"
    stop_time: datetime
    start_lsn: Lsn
    timeline: int
    seg_size: int = DEFAULT_SEG_SIZE
    #: The WAL segments the backup itself needs (its start..stop range, on its timeline), as
    #: the manifest lists them; empty = unknown (then it counts as restorable).
    wal: tuple[str, ...] = ()


@dataclass(frozen=True)
class WalFile:
    timeline: int
    name: str
    #: When the object was stored (from the backend listing); None = unknown (counts as new).
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Policy:
    window: timedelta
    keep_full: int = 0
    keep_incremental: int = 0


@dataclass(frozen=True)
class Verdict:
    name: str  # backup id or WAL file name
    timeline: int
    keep: bool
    reason: str


@dataclass
class Decision:
    now: datetime
    window_start: datetime
    backups: list[Verdict]
    wal: list[Verdict]
    #: Per live timeline, the backup that restores the window's first second.
    anchors: dict[int, str] = field(default_factory=dict)
    #: Earliest point the kept backups restore (their oldest end), None without backups.
    restorable_from: datetime | None = None
    warnings: list[str] = field(default_factory=list)

    def verdict(self, name: str) -> Verdict | None:
        return next((v for v in self.backups if v.name == name), None)

    @property
    def removed_backups(self) -> list[str]:
        return [v.name for v in self.backups if not v.keep]

    @property
    def removed_wal(self) -> list[Verdict]:
        return [v for v in self.wal if not v.keep]


def decide(
    backups: Sequence[BackupFacts],
    wal: Iterable[WalFile],
    histories: dict[int, list[TimelineSwitch]],
    now: datetime,
    policy: Policy,
) -> Decision:
    ws = now - policy.window
    wal = sorted(wal, key=lambda w: (w.timeline, w.name))
    ordered = sorted(backups, key=lambda b: (b.stop_time, b.id))
    timelines = {b.timeline for b in ordered} | {w.timeline for w in wal} | set(histories)
    warnings: list[str] = []
    spans = {t: _spans(t, histories.get(t, []), warnings) for t in sorted(timelines)}
    why: dict[str, list[str]] = {b.id: [] for b in ordered}
    anchors: dict[int, str] = {}
    for t in sorted(timelines):
        if not _live(t, ordered, wal, ws):
            continue
        reach = [b for b in ordered if _reaches(b, t, spans[t])]
        for b in reach:
            if b.stop_time > ws:
                _add(why[b.id], f"ended inside the window (after {_iso(ws)})")
        before = [b for b in reach if b.stop_time <= ws]
        if before:
            anchors[t] = before[-1].id
            _add(
                why[before[-1].id],
                f"restores the window start {_iso(ws)} on timeline {t} "
                "(newest backup that ended at or before it)",
            )
    _keep_floor(ordered, wal, spans, why, warnings)
    for kind, n, label in (
        ("full", policy.keep_full, "keep_full"),
        ("incr", policy.keep_incremental, "keep_incremental"),
    ):
        for b in [b for b in ordered if b.type == kind][::-1][:n]:
            _add(why[b.id], f"one of the {n} newest {kind} backups ({label} = {n})")
    covered = ", ".join(sorted(set(anchors.values()))) or "no backup"
    verdicts = [
        Verdict(b.id, b.timeline, True, "; ".join(why[b.id]))
        if why[b.id]
        else Verdict(
            b.id,
            b.timeline,
            False,
            f"ended {_iso(b.stop_time)}, before the window start {_iso(ws)}, "
            f"which {covered} restores",
        )
        for b in ordered
    ]
    kept = [b for b in ordered if why[b.id]]
    first = _first_needed(kept, spans)
    seg_size = ordered[0].seg_size if ordered else DEFAULT_SEG_SIZE
    wal_verdicts = [_judge_wal(w, first, bool(ordered), ordered, wal, ws, seg_size) for w in wal]
    warnings += _gaps(wal, first, seg_size)
    return Decision(
        now,
        ws,
        verdicts,
        wal_verdicts,
        anchors,
        min((b.stop_time for b in kept), default=None),
        warnings,
    )


def current_timeline(backups: Sequence[BackupFacts], wal: Sequence[WalFile]) -> int | None:
    """The timeline with the most recent activity: the latest backup end or WAL archive time
    (unknown archive times count as newest); ties go to the higher timeline. None when the
    repository holds neither backups nor WAL segments."""
    newest: dict[int, datetime | None] = {}

    def seen(t: int, at: datetime | None) -> None:
        if t not in newest:
            newest[t] = at
        else:
            cur = newest[t]
            if cur is not None and (at is None or at > cur):
                newest[t] = at

    for b in backups:
        seen(b.timeline, b.stop_time)
    for w in wal:
        if not is_history(w.name):
            seen(w.timeline, w.archived_at)
    if not newest:
        return None
    return max(newest, key=lambda t: (newest[t] is None, newest[t] or datetime.min, t))


def restorable(b: BackupFacts, wal: Sequence[WalFile]) -> bool:
    """Every segment of the backup's own WAL range is archived (unknown range: assumed)."""
    have = {w.name for w in wal if w.timeline == b.timeline}
    return all(name in have for name in b.wal)


def protection(decision: Decision, backup_id: str) -> str | None:
    """Why the policy keeps a backup (so deleting it needs --force), or None."""
    v = decision.verdict(backup_id)
    return v.reason if v is not None and v.keep else None


# --- helpers --------------------------------------------------------------------------------


def _spans(t: int, history: list[TimelineSwitch], warnings: list[str]) -> list[TimelineSpan]:
    try:
        return ancestry(t, history)
    except TimelineHistoryError as e:
        warnings.append(f"timeline {t}: history unusable ({e}); only its own backups reach it")
        return [TimelineSpan(t, 0, None)]


def _reaches(b: BackupFacts, t: int, spans: list[TimelineSpan]) -> bool:
    return b.timeline == t or reaches(b.timeline, b.start_lsn, spans)


def _keep_floor(
    ordered: Sequence[BackupFacts],
    wal: Sequence[WalFile],
    spans: dict[int, list[TimelineSpan]],
    why: dict[str, list[str]],
    warnings: list[str],
) -> None:
    """Keep the last restore point, whatever the window says (see the module docstring)."""
    if not ordered:
        return
    good = [b for b in ordered if restorable(b, wal)]
    if not good:
        newest = ordered[-1]
        _add(why[newest.id], "newest backup; no backup has its whole WAL range archived")
        warnings.append(
            f"no backup is restorable: each lacks WAL of its own range (newest: {newest.id}); "
            "check archiving and take a backup"
        )
        return
    current = current_timeline(ordered, wal)
    if current is not None:
        reach = [b for b in good if _reaches(b, current, spans[current])]
        if reach:
            _add(
                why[reach[-1].id],
                f"newest restorable backup of the current timeline {current} "
                "(never expired: the last restore point)",
            )
    _add(why[good[-1].id], "newest restorable backup (never expired: the last restore point)")
    if ordered[-1] is not good[-1]:  # its WAL may still arrive (archiving catching up)
        _add(why[ordered[-1].id], "newest backup (never expired)")


def _live(t: int, backups: Sequence[BackupFacts], wal: Sequence[WalFile], ws: datetime) -> bool:
    """A timeline holds moments inside the window: it has a backup that ended inside the
    window, or WAL archived inside it (or at an unknown time). The highest timeline number is
    not necessarily live: an abandoned test restore also gets a new timeline."""
    if any(b.timeline == t and b.stop_time > ws for b in backups):
        return True
    return any(
        w.timeline == t and not is_history(w.name) and (w.archived_at is None or w.archived_at > ws)
        for w in wal
    )


def _first_needed(
    kept: Sequence[BackupFacts], spans: dict[int, list[TimelineSpan]]
) -> dict[int, tuple[int, str]]:
    """Per timeline: the first segment number any kept backup replays on it, and which."""
    out: dict[int, tuple[int, str]] = {}
    for t, sp in spans.items():
        own = sp[-1]
        for b in kept:
            if not _reaches(b, t, sp):
                continue
            begin = 0 if own.begin_lsn == 0 else segno_of_lsn(own.begin_lsn, b.seg_size)
            seg = max(segno_of_lsn(b.start_lsn, b.seg_size), begin)
            if t not in out or seg < out[t][0]:
                out[t] = (seg, b.id)
    return out


def _judge_wal(
    w: WalFile,
    first: dict[int, tuple[int, str]],
    have_backups: bool,
    backups: Sequence[BackupFacts],
    wal: Sequence[WalFile],
    ws: datetime,
    seg_size: int,
) -> Verdict:
    t = w.timeline
    if is_history(w.name):
        return Verdict(w.name, t, True, "timeline history files are always kept")
    if not (is_segment(w.name) or is_partial(w.name) or is_backup_history(w.name)):
        return Verdict(w.name, t, True, "not a WAL file name; left alone")
    if not have_backups:
        return Verdict(w.name, t, True, "no backups yet: nothing to expire against")
    seg = _segno(w.name, seg_size)
    if t in first:
        start, bid = first[t]
        if seg >= start:
            return Verdict(w.name, t, True, f"replayed from kept backup {bid}")
        return Verdict(
            w.name,
            t,
            False,
            f"before {segment_name(t, start, seg_size)}, where the oldest kept backup "
            f"reaching timeline {t} ({bid}) starts",
        )
    if _live(t, backups, wal, ws):
        return Verdict(w.name, t, True, f"no kept backup reaches live timeline {t} yet")
    return Verdict(w.name, t, False, f"no kept backup reaches timeline {t}")


def _segno(name: str, seg_size: int) -> int:
    """Segment number of a segment, ``.partial`` or ``.backup`` file (its first 24 chars)."""
    return parse_segment_name(name[:24], seg_size)[1]


def _gaps(wal: Sequence[WalFile], first: dict[int, tuple[int, str]], seg_size: int) -> list[str]:
    out = []
    for t, (start, bid) in sorted(first.items()):
        have = {_segno(w.name, seg_size) for w in wal if w.timeline == t and is_segment(w.name)}
        later = [s for s in have if s >= start]
        if not later:
            continue
        missing = [s for s in range(start, max(later) + 1) if s not in have]
        if missing:
            name = segment_name(t, missing[0], seg_size)
            out.append(
                f"timeline {t}: WAL {name} is missing ({len(missing)} segment(s) in all); "
                f"replay from {bid} stops before it"
            )
    return out


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")
