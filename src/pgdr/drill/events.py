"""A finished drill as a notification event (``pgdr.notify.event``)."""

from __future__ import annotations

from pgdr.drill.record import DrillRecord
from pgdr.notify.event import Event, Status

STATUS: dict[str, Status] = {"passed": "ok", "warning": "warning", "failed": "failure"}


def drill_dedup_key(repo_id: str) -> str:
    """One key per repository for drill outcomes (trigger on failure, resolve on success)."""
    return f"pgdr-drill-{repo_id}"


def drill_event(rec: DrillRecord, prev: DrillRecord | None) -> Event:
    status = STATUS.get(rec.result, "failure")
    steps = ", ".join(f"{s.name} {s.seconds:.1f} s" for s in rec.steps)
    lines = [
        rec.message,
        f"backup {rec.backup.get('id', '?')}, target {rec.target.get('value') or rec.target.get('kind', '?')}",
    ]
    lines.append(f"steps: {steps}")
    lines += [
        f"FAILED {c.name}{f' [{c.database}]' if c.database not in (None, '*') else ''}: {c.detail}"
        for c in rec.failed_checks()
    ]
    return Event(
        kind="drill",
        status=status,
        title=f"pgdr drill {rec.result.upper()} on {rec.host} ({rec.repository.get('url', '')})",
        text="\n".join(lines),
        dedup_key=drill_dedup_key(rec.repository.get("repo_id", "unknown")),
        previous_status=STATUS.get(prev.result, "failure") if prev else None,
        details={
            "drill_id": rec.id,
            "result": rec.result,
            "backup": rec.backup.get("id"),
            "rto_seconds": rec.rto_seconds,
            "rpo_seconds": rec.rpo_seconds,
            "failed_checks": [c.name for c in rec.failed_checks()],
            "error": rec.error,
            "message": rec.message,
        },
    )
