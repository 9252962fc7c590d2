"""Reading the whole log and checking it: what `pgdr audit [--verify]` shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgdr.audit.chain import Problem, check_chain, unlinked
from pgdr.audit.entry import AuditEntry
from pgdr.audit.log import list_keys, read_entries
from pgdr.audit.state import Checkpoint, load_checkpoint, save_checkpoint
from pgdr.repo.repository import Repository


@dataclass
class AuditReport:
    repository: str
    entries: list[AuditEntry]
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def read_log(repo: Repository, *, use_checkpoint: bool = True) -> AuditReport:
    """Every entry in chain order (seq, then key), with every problem found. When the log
    checks out, this host's checkpoint is raised to its newest entry, so a later truncation
    below that point is detected here."""
    keys = list_keys(repo)
    good, bad = read_entries(repo, keys)
    cp = load_checkpoint(repo.config.repo_id, repo.backend.url) if use_checkpoint else None
    report = AuditReport(
        repository=repo.backend.url,
        entries=sorted(good.values(), key=lambda e: (e.seq, e.key)),
        problems=check_chain(good, bad, cp),
        checkpoint=cp,
    )
    report.notes = [
        f"{k}: not named by any later entry (a concurrent append outside the merge window)"
        for k in unlinked(good)
    ]
    if report.ok and report.entries and use_checkpoint:
        newest = report.entries[-1]
        save_checkpoint(repo.config.repo_id, repo.backend.url, Checkpoint(newest.key, newest.seq))
    return report
