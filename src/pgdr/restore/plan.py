"""Restore planning — pure functions: which backup serves a target, and whether the archived
WAL can carry it there. Decided before a single byte is copied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pgdr.catalog.manifest import BackupManifest
from pgdr.errors import IntegrityError, UsageError, WalGap
from pgdr.pg.timeline import (
    TimelineHistoryError,
    TimelineSwitch,
    ancestry,
    reaches,
    segments_needed,
)
from pgdr.pg.wal import is_segment, parse_lsn, parse_segment_name, segment_name


@dataclass(frozen=True)
class Target:
    kind: str  # latest | time | lsn | xid | name | immediate
    value: str | None = None

    def describe(self) -> str:
        return self.kind if self.value is None else f"{self.kind} {self.value}"


TIME_FORMATS = "ISO 8601 with a time zone, e.g. 2026-11-24T03:00:00Z or 2026-11-24 03:00:00+01:00"


def parse_time(text: str, option: str = "--time") -> datetime:
    """A recovery target time as the operator wrote it; UsageError (exit 2) naming the
    accepted formats, never a ValueError."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a time; use {TIME_FORMATS}") from None
    if when.tzinfo is None:
        raise UsageError(f"{option} {text!r} needs a time zone; use {TIME_FORMATS}")
    return when


def check_target(target: Target) -> Target:
    """The target's value is well-formed for its kind (UsageError otherwise): checked where
    the CLI reads it and again by the planner."""
    value = target.value or ""
    if target.kind == "time":
        parse_time(value)
    elif target.kind == "lsn":
        try:
            parse_lsn(value)
        except ValueError:
            raise UsageError(f"--lsn {value!r}: not an LSN; use e.g. 0/3000028") from None
    elif target.kind == "xid" and not (value.isascii() and value.isdigit()):
        raise UsageError(f"--xid {value!r}: not a transaction id; use a number, e.g. 7530")
    elif target.kind == "name" and not value:
        raise UsageError("--name needs a restore point name")
    return target


def choose_backup(
    backups: Sequence[BackupManifest],
    target: Target,
    pinned: str | None = None,
    damaged: dict[str, str] | None = None,
) -> BackupManifest:
    """``damaged``: backups whose manifest cannot be read, {id: why}; a restore that needs
    one (pinned, or no other backup) names it instead of saying there is none."""
    damaged = damaged or {}
    if pinned and pinned in damaged:
        raise IntegrityError(f"backup {pinned} cannot be restored: {damaged[pinned]}")
    if not backups and damaged:
        names = ", ".join(sorted(damaged))
        why = damaged[min(damaged)]
        raise IntegrityError(
            f"no readable backup: {len(damaged)} backup manifest(s) damaged ({names}): {why}"
        )
    if not backups:
        raise UsageError("the repository has no backups; take one with `pgdr backup`")
    if pinned:
        for b in backups:
            if b.id == pinned:
                return b
        raise UsageError(f"no backup {pinned!r}; see `pgdr info`")
    ordered = sorted(backups, key=lambda b: b.stop_time)
    check_target(target)
    if target.kind == "time":
        assert target.value is not None
        when = parse_time(target.value)
        fit = [b for b in ordered if b.stop_time <= when]
    elif target.kind == "lsn":
        assert target.value is not None
        lsn = parse_lsn(target.value)
        fit = [b for b in ordered if b.stop_lsn <= lsn]
    else:
        fit = ordered
    if not fit:
        first = ordered[0]
        raise UsageError(
            f"no backup finished before {target.describe()}; the earliest, {first.id}, "
            f"ended at {first.stop_time.isoformat()} (LSN {first.stop_lsn_text})"
        )
    return fit[-1]


def check_wal(
    backup: BackupManifest,
    archived: dict[int, list[str]],
    target: Target,
    timeline: str | None = None,
    histories: dict[int, list[TimelineSwitch]] | None = None,
) -> list[str]:
    """The WAL files recovery will read, from the backup's start to the newest archived one
    on the path to ``timeline`` (default: the backup's own); raises WalGap naming the first
    missing one. Each segment is named on the timeline recovery asks for first — the newest
    one of the path that had begun by then (``segments_needed``)."""
    path = wal_path(backup, archived, target, timeline, histories)
    if path.missing is not None:
        name = path.missing
        if path.missing_is_backups:
            raise WalGap(
                f"WAL {name} needed by backup {backup.id} is not in the repository; this "
                "backup cannot be restored"
            )
        raise WalGap(
            f"WAL {name} is missing from the repository: recovery from backup {backup.id} "
            f"would stop before {target.describe()}",
            hint="restore to an earlier --lsn/--time, or find the missing segment",
        )
    return path.files


@dataclass(frozen=True)
class WalPath:
    """The WAL files recovery reads, in order, up to the first missing one (``missing``,
    None when nothing is missing). ``missing_is_backups``: the hole is inside the backup's
    own range, so the backup cannot be restored at all."""

    files: list[str]
    missing: str | None = None
    missing_is_backups: bool = False


def wal_path(
    backup: BackupManifest,
    archived: dict[int, list[str]],
    target: Target,
    timeline: str | None = None,
    histories: dict[int, list[TimelineSwitch]] | None = None,
) -> WalPath:
    """``check_wal``'s path without raising for a hole: the files before it and the first
    missing one (``restore preview`` names it). WalGap still for an unfollowable timeline."""
    seg_size = backup.wal_segment_size
    tli = backup.timeline
    goal = int(timeline) if timeline is not None and timeline.isdigit() else tli
    history = (histories or {}).get(goal, []) if goal != tli else []
    if goal != tli and not history:
        raise WalGap(
            f"the history file of timeline {goal} is not in the repository: recovery cannot "
            f"follow timeline {goal}",
            hint="restore with --timeline current, or find the missing .history file",
        )
    have: dict[int, set[int]] = {
        t: {parse_segment_name(n, seg_size)[1] for n in names if is_segment(n)}
        for t, names in archived.items()
    }
    needed = [parse_segment_name(n, seg_size)[1] for n in backup.wal]
    for i, segno in enumerate(needed):
        if segno not in have.get(tli, set()):
            return WalPath(
                list(backup.wal[:i]), segment_name(tli, segno, seg_size), missing_is_backups=True
            )
    try:
        spans = ancestry(goal, history)
    except TimelineHistoryError as e:
        raise WalGap(f"timeline {goal} cannot be followed: {e}") from None
    # Recovery asks for each segment on the newest timeline of the path that had begun by
    # then. Its WAL ends at the newest such file archived; a hole before that stops replay
    # there. (Conservative for --time: a hole after the target time also refuses; pin --lsn
    # below the hole to restore anyway.)
    newest = max((max(have[s.tli], default=0) for s in spans if s.tli in have), default=0)
    files = segments_needed(
        goal, history, needed[0] * seg_size, (max(newest, needed[-1]) + 1) * seg_size, seg_size
    )
    limit = max([segno for t, segno in files if segno in have.get(t, set())] + [needed[-1]])
    if target.kind == "lsn" and target.value is not None:
        limit = max(min(limit, parse_lsn(target.value) // seg_size), needed[-1])
    out: list[str] = []
    for t, segno in files:
        if segno > limit:
            break
        if segno not in have.get(t, set()) and segno not in needed:
            return WalPath(out, segment_name(t, segno, seg_size))
        out.append(segment_name(tli if segno in needed else t, segno, seg_size))
    return WalPath(out)


def history_files(timeline: str, histories: dict[int, list[TimelineSwitch]]) -> list[str]:
    """The archived history files of ``timeline`` and its ancestors, which recovery reads
    before it replays a segment of them (timeline 1 has none)."""
    if not timeline.isdigit():
        return []
    goal = int(timeline)
    path = {goal, *(s.parent_tli for s in histories.get(goal, []))}
    return [f"{t:08X}.history" for t in sorted(path) if t > 1 and t in histories]


def choose_timeline(
    backup: BackupManifest, histories: dict[int, list[TimelineSwitch]], requested: str | None
) -> str:
    """``recovery_target_timeline``: as requested, except that ``latest`` (the default) is
    resolved to the newest timeline the backup can reach. PostgreSQL's own ``latest`` takes
    the highest timeline in the archive and refuses to start when that timeline branched off
    before the backup began ("requested timeline N is not a child of this server's
    history") — e.g. after a test restore promoted and archived a timeline of its own."""
    if requested not in (None, "latest"):
        return str(requested)
    tli, start = backup.timeline, backup.start_lsn
    best = tli
    for t, history in sorted(histories.items()):
        if t <= best:
            continue
        try:
            spans = ancestry(t, history)
        except TimelineHistoryError:
            continue  # an unusable history file: never follow it
        if reaches(tli, start, spans):
            best = t
    return str(best)


def recovery_settings(target: Target, action: str, timeline: str | None) -> dict[str, str]:
    out: dict[str, str] = {"recovery_target_timeline": timeline or "latest"}
    if target.kind == "time":
        out["recovery_target_time"] = str(target.value)
    elif target.kind == "lsn":
        out["recovery_target_lsn"] = str(target.value)
    elif target.kind == "xid":
        out["recovery_target_xid"] = str(target.value)
    elif target.kind == "name":
        out["recovery_target_name"] = str(target.value)
    elif target.kind == "immediate":
        out["recovery_target"] = "immediate"
    if target.kind != "latest":
        out["recovery_target_action"] = action
    return out
