"""Result objects of expire, delete-backup, gc, rekey and data-key rotation, each with a text
rendering and ``audit_entry()``: who did what, forced or not, to which ids — what an audit
log entry records."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

from rich.console import Console
from rich.table import Table

from pgdr import audit
from pgdr.humanize import human
from pgdr.repo.gc import GcReport
from pgdr.repo.rekey import DataKeyRotation, RekeyReport
from pgdr.repo.repository import Repository
from pgdr.repo.worm import RetentionRefresh


def actor() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "pid": os.getpid()}


def render_gc(console: Console, g: GcReport) -> None:
    if g.dry_run:
        console.print(
            f"gc (dry run): {g.packs} pack(s), {human(g.pack_bytes)}; would delete "
            f"{g.packs_deleted} and repack {g.packs_repacked} ({g.blobs_moved} live blob(s)), "
            f"freeing up to {human(g.bytes_deleted)}"
        )
        return
    console.print(
        f"gc: {g.packs} pack(s), {human(g.pack_bytes)}; deleted {g.packs_deleted} pack(s) "
        f"({human(g.bytes_deleted)}), repacked {g.packs_repacked} moving {g.blobs_moved} "
        f"blob(s) into {g.packs_written} new pack(s) ({human(g.bytes_written)}); index objects: "
        f"{g.index_files_written} written, {g.index_files_retired} retired"
    )
    if g.spared_packs:
        console.print(f"gc: spared {g.spared_packs} pack(s) that a new backup references")
    if g.locked:
        console.print(
            f"[yellow]gc: {len(g.locked)} delete(s) refused by Object Lock[/] (skipped; a later "
            f"run deletes them once the lock lapses), e.g. {g.locked[0]}"
        )
    if g.pending:
        console.print(
            f"[yellow]gc: deletion plan {g.pending[0]} waits for writers that were running "
            f"when it was made[/] ({'; '.join(g.waiting_for[:2])}); the next run finishes it "
            "(or pass --wait SECONDS)"
        )
    if g.damaged:
        console.print(f"[red]gc: damaged packs left alone[/]: {', '.join(g.damaged[:3])}")
    verb = "found" if g.dry_run else "removed"
    if g.stale_locks_removed:
        console.print(
            f"gc: {verb} {len(g.stale_locks_removed)} stale lock(s) of runs that ended without "
            f"releasing them, e.g. {g.stale_locks_removed[0]}"
        )
    if g.temp_files_removed:
        console.print(
            f"gc: {verb} {len(g.temp_files_removed)} temporary file(s) of interrupted writes, "
            f"e.g. {g.temp_files_removed[0]}"
        )
    if g.missing_blobs:
        console.print(f"[red]gc: {g.missing_blobs} referenced blob(s) are missing[/] (repo verify)")


@dataclass
class GcResult:
    url: str
    gc: GcReport
    actor: dict[str, Any] = field(default_factory=actor)
    action: str = "gc"

    def render_text(self, console: Console) -> None:
        render_gc(console, self.gc)
        console.print(f"took {self.gc.seconds:.1f} s")

    def audit_entry(self) -> dict[str, Any]:
        g = self.gc
        return {
            "action": self.action,
            "who": self.actor,
            "forced": False,
            "dry_run": g.dry_run,
            "packs_deleted": g.packs_deleted,
            "bytes_deleted": g.bytes_deleted,
            "locked": g.locked,
            "pending": g.pending,
        }


@dataclass
class ExpireResult:
    url: str
    dry_run: bool
    now: str
    window_seconds: float
    window_start: str
    restorable_from: str | None
    anchors: dict[int, str]
    backups: list[dict[str, Any]]
    #: Backups and WAL really removed (a dry run: what would be); never what was refused.
    removed_backups: list[str]
    #: Removals the policy decided that S3 Object Lock refused (still stored; retried later).
    refused_backups: list[str]
    wal_removed: list[dict[str, Any]]
    wal_removed_files: int
    wal_refused: list[dict[str, Any]]
    wal_refused_files: int
    wal_kept_files: int
    locked: list[str]
    warnings: list[str]
    unreadable: list[str]
    gc: GcReport | None
    #: S3 Object Lock: locks of still-needed objects extended (None: no Object Lock).
    retention: RetentionRefresh | None
    bytes_before: int
    bytes_after: int
    seconds: float
    actor: dict[str, Any] = field(default_factory=actor)
    action: str = "expire"

    def render_text(self, console: Console) -> None:
        if not self.backups:
            console.print("no backups: nothing to expire (WAL is kept until there is one)")
        t = Table("backup", "tl", "verdict", "reason")
        for b in self.backups:
            verdict = "[green]keep[/]" if b["keep"] else "[red]remove[/]"
            t.add_row(b["id"], str(b["timeline"]), verdict, b["reason"])
        if self.backups:
            console.print(t)
        verb = "would remove" if self.dry_run else "removed"
        console.print(
            f"window: {_days(self.window_seconds)} from {self.window_start}; "
            f"{verb} {len(self.removed_backups)} backup(s) and {self.wal_removed_files} WAL "
            f"file(s), kept {self.wal_kept_files}"
        )
        for w in self.wal_removed:
            console.print(
                f"  WAL timeline {w['timeline']}: {w['first']} .. {w['last']} ({w['files']})"
            )
        if self.restorable_from:
            console.print(f"restorable from {self.restorable_from}")
        for warning in self.warnings:
            console.print(f"[yellow]warning[/]: {warning}")
        if self.unreadable:
            console.print(f"[red]unreadable backup manifests left alone[/]: {self.unreadable}")
        if self.refused_backups or self.wal_refused_files:
            ids = f": {', '.join(self.refused_backups[:5])}" if self.refused_backups else ""
            console.print(
                f"[yellow]refused by Object Lock (still stored, retried by a later run): "
                f"{len(self.refused_backups)} backup(s) and {self.wal_refused_files} WAL "
                f"file(s)[/]{ids}"
            )
            for w in self.wal_refused:
                console.print(
                    f"  WAL timeline {w['timeline']}: {w['first']} .. {w['last']} ({w['files']})"
                )
        if self.gc is not None:
            render_gc(console, self.gc)
        if self.retention is not None:
            r = self.retention
            console.print(
                f"object lock: checked {r.checked} older object(s), extended {r.extended}"
                + (f", [red]{len(r.failed)} failed[/]: {r.failed[0]}" if r.failed else "")
            )
        if not self.dry_run:
            console.print(
                f"stored: {human(self.bytes_before)} -> {human(self.bytes_after)} "
                f"in {self.seconds:.1f} s"
            )

    def audit_entry(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "who": self.actor,
            "forced": False,
            "dry_run": self.dry_run,
            "backups_removed": self.removed_backups,
            "backups_refused": self.refused_backups,
            "wal_removed": self.wal_removed,
            "wal_refused": self.wal_refused,
            "locked": self.locked,
            "window_start": self.window_start,
        }


@dataclass
class DeleteResult:
    url: str
    backup_id: str
    deleted: bool
    forced: bool
    #: How the forced delete was confirmed: "typed" at a prompt or "flag" (--yes-i-know).
    confirmation: str | None
    #: Why the retention policy kept the backup (None: it was not protected).
    protected_reason: str | None
    gc: GcReport | None
    actor: dict[str, Any] = field(default_factory=actor)
    action: str = "delete-backup"

    def render_text(self, console: Console) -> None:
        if self.protected_reason:
            console.print(
                f"[bold red]forced[/] delete of protected backup {self.backup_id} "
                f"({self.protected_reason}), confirmed by {self.confirmation}"
            )
        console.print(f"deleted backup {self.backup_id}")
        if self.gc is not None:
            render_gc(console, self.gc)

    def audit_entry(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "who": self.actor,
            "forced": self.forced,
            "confirmation": self.confirmation,
            "backup": self.backup_id,
            "protected_reason": self.protected_reason,
        }


@dataclass
class DataKeyResult:
    url: str
    new_key_id: str
    previous_key_id: str
    keys: int
    actor: dict[str, Any] = field(default_factory=actor)
    action: str = "rotate-data-key"

    @classmethod
    def of(cls, url: str, r: DataKeyRotation) -> DataKeyResult:
        return cls(url, r.new_key_id, r.previous_key_id, r.keys)

    def render_text(self, console: Console) -> None:
        console.print(
            f"new data key {self.new_key_id} seals new data; {self.keys - 1} older key(s) "
            "still open old data (re-encrypt it with `pgdr repo rekey --rewrite`)"
        )

    def audit_entry(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "who": self.actor,
            "forced": False,
            "new_key_id": self.new_key_id,
            "previous_key_id": self.previous_key_id,
        }


@dataclass
class RekeyResult:
    url: str
    rewrote: bool
    current_key_id: str
    manifests_rewritten: int
    wal_rewritten: int
    #: Objects still sealed with older keys, by kind.
    remaining: dict[str, int]
    gc: GcReport | None
    seconds: float
    actor: dict[str, Any] = field(default_factory=actor)
    action: str = "rekey"

    @classmethod
    def of(cls, url: str, r: RekeyReport) -> RekeyResult:
        return cls(
            url,
            True,
            r.current_key_id,
            r.manifests_rewritten,
            r.wal_rewritten,
            r.remaining,
            r.gc,
            r.seconds,
        )

    @classmethod
    def pending(cls, url: str, current: bytes, remaining: dict[str, int]) -> RekeyResult:
        return cls(url, False, current.hex(), 0, 0, remaining, None, 0.0)

    def render_text(self, console: Console) -> None:
        old = ", ".join(f"{n} {k}" for k, n in self.remaining.items()) or "nothing"
        if not self.rewrote:
            console.print(
                f"current data key {self.current_key_id}; sealed with older keys: {old}"
                + (" (re-encrypt with --rewrite)" if self.remaining else "")
            )
            return
        console.print(
            f"re-encrypted under data key {self.current_key_id}: {self.manifests_rewritten} "
            f"manifest(s), {self.wal_rewritten} WAL file(s)"
        )
        if self.gc is not None:
            render_gc(console, self.gc)
        console.print(f"still under older keys: {old} ({self.seconds:.1f} s)")

    def audit_entry(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "who": self.actor,
            "forced": False,
            "rewrote": self.rewrote,
            "current_key_id": self.current_key_id,
            "remaining": self.remaining,
        }


def _days(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)} day(s)"
    return f"{seconds:g} s"


__all__ = [
    "DataKeyResult",
    "DeleteResult",
    "ExpireResult",
    "GcResult",
    "RekeyResult",
    "actor",
    "asdict",
]


class _Auditable(Protocol):
    def audit_entry(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Auditable)


def record_audit(repo: Repository, result: R) -> R:
    """Append what ``result`` did to the repository's audit log (§8g) and return it. Dry runs
    change nothing and are not recorded; who/where/when are the audit entry's own."""
    details = dict(result.audit_entry())
    action = str(details.pop("action"))
    details.pop("who", None)
    if not details.get("dry_run"):
        audit.record(repo, action, details)
    return result
