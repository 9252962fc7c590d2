"""``pgdr restore preview`` / ``restore --dry-run``: what a restore would do, without writing
anything — the backup, the WAL range (segments, bytes), the first hole in the WAL on the way
(the target is then unreachable; the latest reachable point is named), the bytes to fetch
(``--database``: only what is kept) and the time it should take from drill records
(``pgdr.restore.estimate``). It chooses as the restore does (``pgdr.restore.run.choose``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from pgdr.errors import RecoveryTargetUnreachable, WalGap
from pgdr.humanize import duration, human
from pgdr.pg.wal import format_lsn, parse_segment_name
from pgdr.repo.repository import Repository
from pgdr.restore.databases import select_databases, split_entries
from pgdr.restore.estimate import Estimate, drill_timings, estimate, files_bytes
from pgdr.restore.plan import Target, wal_path
from pgdr.restore.run import RestoreSource, choose
from pgdr.restore.safety import check_manifest
from pgdr.restore.window import check_target, wal_end


@dataclass
class WalRange:
    first: str | None
    last: str | None
    segments: int
    bytes: int  # what recovery replays (segments x segment size)
    stored_bytes: int  # what is fetched from the repository (compressed, encrypted)


@dataclass
class Gap:
    missing: str  # the first WAL segment not in the repository
    reachable_lsn: str | None  # the latest point recovery can reach (end of the WAL before it)
    reachable_time: str | None  # when the last segment before the hole was archived
    in_backup: bool  # the hole is inside the backup's own WAL: the backup is unusable


@dataclass
class PreviewResult:
    backup_id: str
    backup_stop_time: str
    target: str
    timeline: str
    reachable: bool
    why_unreachable: str | None
    wal: WalRange
    gap: Gap | None
    fetch_bytes: int  # the backup's files a restore fetches
    backup_bytes: int  # all of the backup's files
    databases: list[str] | None
    left_out: list[str] | None
    estimate_seconds: float | None
    estimate_basis: str
    drills: list[str] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        console.print(
            f"backup [bold]{self.backup_id}[/] (ended {self.backup_stop_time}), target "
            f"{escape(self.target)}, timeline {self.timeline}"
        )
        if self.databases is not None:
            console.print(
                f"databases: {escape(', '.join(self.databases))}; left out (not fetched): "
                f"{escape(', '.join(self.left_out or [])) or 'none'}"
            )
        console.print(
            f"fetch: {human(self.fetch_bytes)} of the backup's {human(self.backup_bytes)}"
        )
        w = self.wal
        span = f"{w.first} .. {w.last}" if w.first else "none"
        console.print(
            f"WAL: {span}: {w.segments} segments, {human(w.bytes)} to replay, "
            f"{human(w.stored_bytes)} to fetch"
        )
        if self.gap is not None:
            g = self.gap
            where = (
                f"the latest reachable point is LSN {g.reachable_lsn}"
                + (f" (archived {g.reachable_time})" if g.reachable_time else "")
                if g.reachable_lsn
                else "nothing after the backup is reachable"
            )
            console.print(f"[red]gap: WAL {g.missing} is missing from the repository[/]; {where}")
        if not self.reachable:
            console.print(
                f"[red]the target is unreachable[/]: {escape(self.why_unreachable or '')}"
            )
        if self.estimate_seconds is not None:
            console.print(
                f"estimated time: {duration(self.estimate_seconds)} ({escape(self.estimate_basis)})"
            )
        else:
            console.print(f"estimated time: unknown ({escape(self.estimate_basis)})")


def preview(
    repo: Repository,
    target: Target,
    *,
    timeline: str | None = None,
    backup: str | None = None,
    databases: Sequence[str] = (),
    source: RestoreSource | None = None,
) -> PreviewResult:
    """What ``restore`` with the same options would do; reads, never writes."""
    source = source or RestoreSource.read(repo)
    chosen, followed, _lineage = choose(source, target, timeline, backup)
    seg = chosen.wal_segment_size
    path = wal_path(chosen, source.wal.archived, target, followed, source.histories)
    why: str | None = None
    if target.kind in ("time", "lsn"):
        whole = wal_path(chosen, source.wal.archived, Target("latest"), followed, source.histories)
        end = wal_end(whole.files, seg, source.wal.times())
        try:
            check_target(target, source.backups.manifests, end, followed, datetime.now(UTC))
        except RecoveryTargetUnreachable as e:
            why = str(e)
    gap: Gap | None = None
    if path.missing is not None:
        gap = _gap(path.files, path.missing, path.missing_is_backups, seg, source)
        why = why or (
            f"WAL {path.missing} is missing: recovery from backup {chosen.id} would stop "
            f"before {target.describe()}"
        )
    sizes = {o.key.rsplit("/", 1)[-1]: o.size for o in source.wal.objects}
    wal = WalRange(
        path.files[0] if path.files else None,
        path.files[-1] if path.files else None,
        len(path.files),
        len(path.files) * seg,
        sum(sizes.get(n, 0) for n in path.files),
    )
    total = files_bytes(chosen)
    fetch = total
    kept: list[str] | None = None
    left_out: list[str] | None = None
    if databases:
        selection = select_databases(chosen, databases)
        stored = source.backups.stored(repo, chosen.id)
        _fetched, zeroed = split_entries(
            check_manifest(chosen, stored.ref_count()), selection.left_out
        )
        fetch = total - sum(e.size for e in zeroed)  # exactly what the restore fetches
        kept, left_out = list(selection.kept), sorted(selection.left_out.values())
    est: Estimate = estimate(drill_timings(repo, source.backups.manifests), fetch + wal.bytes)
    return PreviewResult(
        chosen.id,
        chosen.stop_time.isoformat(),
        target.describe(),
        followed,
        why is None,
        why,
        wal,
        gap,
        fetch,
        total,
        kept,
        left_out,
        est.seconds,
        est.basis,
        list(est.drills),
    )


def _gap(before: list[str], missing: str, in_backup: bool, seg: int, source: RestoreSource) -> Gap:
    if in_backup or not before:
        return Gap(missing, None, None, in_backup)
    last = before[-1]
    end = (parse_segment_name(last, seg)[1] + 1) * seg
    at = source.wal.times().get(last)
    return Gap(missing, format_lsn(end), at.isoformat() if at else None, in_backup)


def refuse_unreachable(result: PreviewResult) -> WalGap | RecoveryTargetUnreachable | None:
    """The error a restore with the previewed options would stop with (for ``--dry-run``'s
    exit code), or None."""
    if result.reachable:
        return None
    if result.gap is not None:
        return WalGap(result.why_unreachable or "WAL missing")
    return RecoveryTargetUnreachable(result.why_unreachable or "target unreachable")
