"""`pgdr expire`, `pgdr delete-backup`, `pgdr repo gc`: apply the retention policy, delete
one backup explicitly (protected ones only with --force and a confirmation), collect garbage.

All three take the repository's delete lock (which backups and WAL pushes do not conflict
with: docs/design.md §10). Order: backup manifests first, then WAL, then garbage
collection — a crash in between leaves only garbage that the next run removes. A delete
refused by S3 Object Lock is reported and skipped, never a crash: the next run retries it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from pgdr.catalog.manifest import KIND
from pgdr.catalog.wal import wal_key
from pgdr.errors import (
    BackupNotFound,
    ConfirmationRequired,
    ObjectLocked,
    ProtectedByRetention,
)
from pgdr.repo import format as fmt
from pgdr.repo.gc import GcOptions, collect
from pgdr.repo.locks import LockManager
from pgdr.repo.repository import Repository
from pgdr.repo.worm import lock_period, needed_keys, refresh
from pgdr.retention.facts import gather
from pgdr.retention.policy import Decision, Policy, Verdict, decide, protection
from pgdr.retention.results import DeleteResult, ExpireResult, GcResult, record_audit


def stored_bytes(repo: Repository) -> int:
    return sum(i.size for i in repo.backend.list())


def plan(repo: Repository, policy: Policy, now: datetime | None = None) -> Decision:
    """The policy's decision on this repository now (reads only)."""
    f = gather(repo)
    return decide(f.backups, f.wal, f.histories, now or datetime.now(UTC), policy)


def expire(
    repo: Repository,
    policy: Policy,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    gc: GcOptions | None = None,
) -> ExpireResult:
    t0 = time.monotonic()
    gc_opts = gc or GcOptions()
    before = stored_bytes(repo)
    with LockManager(repo.backend).acquire("delete", "expire") as lock:
        facts = gather(repo)
        d = decide(facts.backups, facts.wal, facts.histories, now or datetime.now(UTC), policy)
        locked: list[str] = []
        report = None
        refreshed = None
        removed_backups, refused_backups = list(d.removed_backups), list[str]()
        removed_wal, refused_wal = list(d.removed_wal), list[Verdict]()
        if not dry_run:  # report what was really removed: Object Lock may refuse any delete
            removed_backups = []
            for bid in d.removed_backups:
                ok = _delete(repo, fmt.manifest_key(KIND, bid), locked)
                (removed_backups if ok else refused_backups).append(bid)
            removed_wal = []
            for v in d.removed_wal:
                ok = _delete(repo, wal_key(v.name), locked)
                (removed_wal if ok else refused_wal).append(v)
            report = collect(repo, replace(gc_opts, purpose="expire"), lock=lock)
            if lock_period(repo) is not None:  # S3 Object Lock: keep what is needed locked
                needed = needed_keys(repo, dropped=locked)
                refreshed = refresh(repo, needed - set(report.locked), policy.window)
    return record_audit(
        repo,
        ExpireResult(
            url=repo.backend.url,
            dry_run=dry_run,
            now=d.now.isoformat(),
            window_seconds=policy.window.total_seconds(),
            window_start=d.window_start.isoformat(),
            restorable_from=d.restorable_from.isoformat() if d.restorable_from else None,
            anchors=d.anchors,
            backups=[
                {"id": v.name, "timeline": v.timeline, "keep": v.keep, "reason": v.reason}
                for v in d.backups
            ],
            removed_backups=removed_backups,
            refused_backups=refused_backups,
            wal_removed=_wal_summary(removed_wal),
            wal_removed_files=len(removed_wal),
            wal_refused=_wal_summary(refused_wal),
            wal_refused_files=len(refused_wal),
            wal_kept_files=len(d.wal) - len(d.removed_wal),
            locked=locked,
            warnings=d.warnings,
            unreadable=facts.unreadable,
            gc=report,
            retention=refreshed,
            bytes_before=before,
            bytes_after=before if dry_run else stored_bytes(repo),
            seconds=time.monotonic() - t0,
        ),
    )


def protected_reason(
    repo: Repository, backup_id: str, policy: Policy, now: datetime | None = None
) -> str | None:
    """Why the policy keeps ``backup_id`` (None: deletable without --force). Raises
    BackupNotFound."""
    d = plan(repo, policy, now)
    if d.verdict(backup_id) is None:
        raise BackupNotFound(f"no backup {backup_id!r}; see `pgdr info`")
    return protection(d, backup_id)


def delete_backup(
    repo: Repository,
    backup_id: str,
    policy: Policy,
    *,
    force: bool = False,
    confirmation: str | None = None,
    confirmed_by: str = "flag",
    now: datetime | None = None,
    gc: GcOptions | None = None,
) -> DeleteResult:
    """Delete one backup. One the retention policy keeps needs ``force`` and
    ``confirmation`` equal to its id; otherwise nothing is changed and the error says why."""
    with LockManager(repo.backend).acquire("delete", "delete-backup") as lock:
        reason = protected_reason(repo, backup_id, policy, now)
        if reason and not force:
            raise ProtectedByRetention(
                f"backup {backup_id} is protected by the retention policy: {reason}",
                hint=f"to delete it anyway: --force --yes-i-know {backup_id}",
            )
        if reason and confirmation != backup_id:
            got = "no confirmation" if confirmation is None else f"confirmation {confirmation!r}"
            raise ConfirmationRequired(
                f"deleting protected backup {backup_id} needs its id typed as confirmation "
                f"(got {got}); nothing was deleted",
                hint=f"type it at the prompt, or pass --yes-i-know {backup_id}",
            )
        repo.delete_manifest(KIND, backup_id)  # ObjectLocked (exit 24) propagates: not deleted
        report = collect(repo, replace(gc or GcOptions(), purpose="delete-backup"), lock=lock)
    return record_audit(
        repo,
        DeleteResult(
            url=repo.backend.url,
            backup_id=backup_id,
            deleted=True,
            forced=bool(reason),
            confirmation=confirmed_by if reason else None,
            protected_reason=reason,
            gc=report,
        ),
    )


def run_gc(repo: Repository, options: GcOptions | None = None) -> GcResult:
    return record_audit(repo, GcResult(repo.backend.url, collect(repo, options)))


def _delete(repo: Repository, key: str, locked: list[str]) -> bool:
    """Delete ``key``; False (and the key noted in ``locked``) when Object Lock refused."""
    try:
        repo.backend.delete(key)
    except ObjectLocked:
        locked.append(key)
        return False
    return True


def _wal_summary(removed: list[Verdict]) -> list[dict[str, object]]:
    """Removed WAL per timeline: first and last name, number of files."""
    names: dict[int, list[str]] = {}
    for v in removed:
        names.setdefault(v.timeline, []).append(v.name)
    return [
        {"timeline": t, "first": min(n), "last": max(n), "files": len(n)}
        for t, n in sorted(names.items())
    ]
