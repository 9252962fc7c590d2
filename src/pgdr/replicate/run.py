"""`pgdr repo replicate`: copy every object the replica lacks, verified, in write order.

Idempotent and resumable: each run lists both sides and copies only what is missing, so an
interrupted run is finished by the next one. At the first replication ``config`` is written
last — and only when everything else arrived — so a half-copied replica is never mistaken
for a repository. Deletions are not propagated: what expires on the primary stays on the
replica until expiry runs there (a destroyed primary cannot take its replica with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rich.console import Console

from pgdr import audit
from pgdr.humanize import human
from pgdr.replicate.copy import AuditCopier, Outcome, copy_one
from pgdr.replicate.plan import CATEGORIES, CopyPlan, plan_copy
from pgdr.replicate.target import check_target, ensure_slot
from pgdr.repo import format as fmt
from pgdr.repo.keys import KeySource
from pgdr.repo.locks import LockManager
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend, ObjectInfo

Progress = Callable[[str, int, int], None]


@dataclass
class ReplicateResult:
    source: str
    target: str
    first_replication: bool
    complete: bool  # the replica has its config: it can be opened and restored from
    copied: dict[str, int] = field(default_factory=dict)
    copied_bytes: int = 0
    already_present: int = 0
    vanished: int = 0  # listed on the source, gone before it was read
    not_copied: dict[str, int] = field(default_factory=dict)  # unknown prefixes
    slot_added: str | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def render_text(self, console: Console) -> None:
        n = sum(self.copied.values())
        what = ", ".join(f"{v} {k}" for k, v in self.copied.items() if v) or "nothing new"
        console.print(
            f"replicated {self.source} -> {self.target}: {n} object(s), "
            f"{human(self.copied_bytes)} ({what}); {self.already_present} already there; "
            f"{self.seconds:.1f} s"
        )
        if self.slot_added:
            console.print(f"added key slot {self.slot_added} for the replica's own key")
        for prefix, count in self.not_copied.items():
            console.print(f"[yellow]not copied[/]: {count} object(s) under {prefix} (unknown)")
        for p in self.problems:
            console.print(f"[red]not copied[/] {p['object']}: {p['message']}")
        if not self.complete:
            console.print("[yellow]the replica is not complete yet: run replicate again[/]")


def _snapshot(backend: Backend) -> list[ObjectInfo]:
    """List in read order (reverse write order): whatever a listed object references was
    written before it, so it is in a later listing too."""
    out: list[ObjectInfo] = []
    for _name, prefix in reversed(CATEGORIES):
        out.extend(backend.list(prefix))
    return out


def replicate(
    source: Repository,
    target: Backend,
    target_key: KeySource | None,
    *,
    workers: int = 8,
    label: str = "replica",
    progress: Progress | None = None,
) -> ReplicateResult:
    t0 = time.monotonic()
    had_config = check_target(source, target)
    result = ReplicateResult(source.backend.url, target.url, not had_config, had_config)
    # Source: a reader that must not see packs swept mid-copy (shared, like a writer).
    # Target: a writer that must not race expire/GC/rekey there (their delete-kind lock).
    with (
        LockManager(source.backend).acquire("shared", "replicate"),
        LockManager(target).acquire("delete", "replicate"),
    ):
        result.slot_added = ensure_slot(source, target, target_key, label)
        listing = _snapshot(source.backend)
        source.reload_keyring()  # listed after the data: it has every key that data needs
        on_target = _snapshot(target)
        plan = plan_copy(listing, on_target)
        audit_copier = AuditCopier(source, target, (o.key for o in on_target))
        result.already_present = plan.present
        result.not_copied = plan.unknown
        for key in plan.differs:
            result.problems.append(
                {
                    "object": key,
                    "message": "present on the replica with another size; "
                    "left alone (check it with `repo verify --read-data` there)",
                }
            )
        _copy_all(source, target, plan, result, audit_copier, workers, progress)
        if not had_config and not result.problems:
            _account(result, copy_one(source, target, fmt.CONFIG_KEY))
            result.complete = not result.problems
    result.seconds = time.monotonic() - t0
    entry = audit.record(
        source,
        "replicate",
        {
            "target": target.url,
            "objects": sum(result.copied.values()),
            "bytes": result.copied_bytes,
            "first": result.first_replication,
            "complete": result.complete,
            "problems": len(result.problems),
            "slot_added": result.slot_added,
        },
    )
    if entry is not None and result.complete:  # so the replica is not one entry behind
        audit_copier.copy([entry])  # with whatever it names that the listing missed
    return result


def _copy_all(
    source: Repository,
    target: Backend,
    plan: CopyPlan,
    result: ReplicateResult,
    audit_copier: AuditCopier,
    workers: int,
    progress: Progress | None,
) -> None:
    total, done = plan.bytes, 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for name, _prefix in CATEGORIES:  # a category completes before the next begins
            objs = plan.missing.get(name, [])
            if name == "audit":
                outcomes = iter(audit_copier.copy(o.key for o in objs))
            else:
                outcomes = pool.map(lambda o: copy_one(source, target, o.key), objs)
            copied = 0
            for outcome in outcomes:
                copied += _account(result, outcome)
                done += outcome.bytes
                if progress:
                    progress("replicate", done, total)
            result.copied[name] = copied


def _account(result: ReplicateResult, o: Outcome) -> int:
    if o.status == "copied":
        result.copied_bytes += o.bytes
        return 1
    if o.status == "vanished":
        result.vanished += 1
    else:
        result.problems.append({"object": o.key, "message": o.message})
    return 0
