"""The drill record: one manifest of kind ``drill`` per drill, so every host sees the
history (docs/design.md §8d). Written once, at the end, never changed."""

from __future__ import annotations

import dataclasses
import os
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from pgdr.drill.verdicts import CheckResult
from pgdr.errors import DrillNotFound, PgdrError
from pgdr.repo.repository import Repository

KIND = "drill"
RECORD_VERSION = 1


def new_drill_id(now: datetime) -> str:
    """UTC start to the millisecond, then random: ids sort by start time."""
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{os.urandom(4).hex()}"


@dataclass
class Step:
    name: str
    seconds: float


@dataclass
class DrillRecord:
    id: str
    started: str
    host: str
    user: str
    pid: int
    repository: dict[str, str]
    request: dict[str, Any]  # what was asked: backup, target, keep, seed
    version: int = RECORD_VERSION
    finished: str | None = None
    backup: dict[str, Any] = field(default_factory=dict)  # id, label, type, stop_time
    target: dict[str, Any] = field(default_factory=dict)  # kind, value, reference_time
    #: The timeline recovery followed, production's, and how they relate (followed, backup,
    #: production, role: "production" | "production's history …" | "side branch …").
    timeline: dict[str, Any] = field(default_factory=dict)
    #: Where replay stopped in the sandbox: lsn (pg_last_wal_replay_lsn) and the timeline of
    #: that WAL (empty when replay never reached the target).
    reached: dict[str, Any] = field(default_factory=dict)
    result: str = "running"  # passed | warning | failed
    message: str = ""
    error: dict[str, Any] | None = None  # when a step aborted: step, kind, message, exit_code
    steps: list[Step] = field(default_factory=list)
    total_seconds: float = 0.0  # every step, cleanup included
    rto_seconds: float = 0.0  # the recovery steps (a sandbox drill: all of them)
    ready_seconds: float | None = None  # until the restored database accepted queries
    rpo_seconds: float | None = None
    connect_ms: float | None = None
    checks: list[CheckResult] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # per database: tables, rows, indexes
    sandbox: dict[str, Any] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    def audit(self) -> dict[str, Any]:
        """What an audit-log entry needs: who, what, on which object, outcome."""
        return {
            "action": "drill",
            "actor": f"{self.user}@{self.host}",
            "pid": self.pid,
            "time": self.finished or self.started,
            "repository": self.repository.get("repo_id"),
            "object": f"manifests/{KIND}/{self.id}",
            "backup": self.backup.get("id"),
            "target": self.target,
            "timeline": self.timeline.get("followed"),
            "outcome": self.result,
            "message": self.message,
            "rto_seconds": self.rto_seconds,
            "rpo_seconds": self.rpo_seconds,
        }

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DrillRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in doc.items() if k in names}
        d["steps"] = [Step(**s) for s in d.get("steps", [])]
        d["checks"] = [CheckResult(**c) for c in d.get("checks", [])]
        return cls(**d)

    def render_text(self, console: Console) -> None:
        from pgdr.drill.report import render_console

        render_console(self, console)


def store(repo: Repository, rec: DrillRecord) -> str:
    return repo.put_manifest(KIND, rec.id, rec.to_doc())


def load(repo: Repository, drill_id: str) -> DrillRecord:
    ids = repo.list_manifests(KIND)
    if drill_id == "latest":
        if not ids:
            raise DrillNotFound("no drill has been recorded in this repository yet")
        drill_id = max(ids)
    matches = [i for i in ids if i == drill_id or i.startswith(drill_id)]
    if len(matches) != 1:
        raise DrillNotFound(f"no drill record {drill_id!r}; see `pgdr drill history`")
    return DrillRecord.from_doc(repo.get_manifest(KIND, matches[0]).doc)


def history(repo: Repository, limit: int | None = None) -> list[DrillRecord]:
    """Records oldest first (ids start with the UTC start time). Unreadable ones skipped."""
    ids = sorted(repo.list_manifests(KIND))
    if limit:
        ids = ids[-limit:]
    out = []
    for i in ids:
        try:
            out.append(DrillRecord.from_doc(repo.get_manifest(KIND, i).doc))
        except (PgdrError, TypeError, KeyError):
            continue
    return out


def previous(repo: Repository, before: str) -> DrillRecord | None:
    ids = sorted(i for i in repo.list_manifests(KIND) if i < before)
    for i in reversed(ids):
        try:
            return DrillRecord.from_doc(repo.get_manifest(KIND, i).doc)
        except (PgdrError, TypeError, KeyError):
            continue
    return None


@dataclass
class History:
    drills: list[dict[str, Any]]
    total: int
    passed: int
    pass_rate: float | None
    rto_seconds: dict[str, float]  # min, median, max, last
    rpo_seconds: dict[str, float]

    def render_text(self, console: Console) -> None:
        from pgdr.drill.report import render_history

        render_history(self, console)


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "last": values[-1],
    }


def summarize(records: list[DrillRecord]) -> History:
    rows = [
        {
            "id": r.id,
            "started": r.started,
            "backup": r.backup.get("id"),
            "target": r.target.get("value") or r.target.get("kind"),
            "timeline": r.timeline.get("followed"),
            "result": r.result,
            "failed": [c.name for c in r.failed_checks()] or ([r.error["step"]] if r.error else []),
            "rto_seconds": round(r.rto_seconds, 2),
            "rpo_seconds": None if r.rpo_seconds is None else round(r.rpo_seconds, 1),
            "message": r.message,
        }
        for r in records
    ]
    passed = sum(1 for r in records if r.result in ("passed", "warning"))
    return History(
        rows,
        len(records),
        passed,
        (passed / len(records)) if records else None,
        _stats([r.rto_seconds for r in records if r.result != "failed" or not r.error]),
        _stats([r.rpo_seconds for r in records if r.rpo_seconds is not None]),
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
