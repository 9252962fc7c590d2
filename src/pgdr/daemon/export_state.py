"""The exports' state (pure): late, failed or ok — for the ``export_late`` and
``export_failed`` alerts, `pgdr status` and the dashboard's exports panel (docs/design.md §8h).

*Late*: the newest complete export is older than the schedule's longest gap between two slots
plus ``[alerts] export_grace_s`` (monthly ``0 4 1 * *``: 31 days + 2 days). No complete export
at all is late too (like "no backup"), once the target is configured and the export scheduled.
*Failed*: the last recorded export job (``export``, or ``rds_export`` in RDS mode) failed (a
refusal — no ``[exports]`` — included) and no complete export finished after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgdr.daemon.facts import ExportFact, Facts
from pgdr.daemon.history import JobRecord


def _d(seconds: float) -> str:
    return f"{seconds / 86400:.1f} d" if seconds >= 172800 else f"{seconds / 3600:.1f} h"


def lateness(e: ExportFact | None, now: datetime, grace_s: float) -> tuple[bool | None, str]:
    """(late?, why); None when it cannot be told now (the target unreadable)."""
    if e is None:
        return False, "exports not watched"
    if not e.configured:
        return False, e.error or "exports not configured"
    if e.period_s is None:
        return False, "the export is not scheduled ([schedule] export or rds_export = off)"
    if not e.up:
        return None, f"exports target unreadable: {e.error}"
    limit = e.period_s + grace_s
    if e.latest_finished is None:
        return True, f"no complete export at {e.url}"
    age = (now - e.latest_finished).total_seconds()
    return age > limit, f"newest complete export {e.latest_id} is {_d(age)} old (limit {_d(limit)})"


#: The jobs that write exports: pgdr's own, and RDS snapshot exports (RDS mode).
EXPORT_JOBS = ("export", "rds_export")


def last_export_job(jobs: list[JobRecord]) -> JobRecord | None:
    runs = [j for j in jobs if j.kind in EXPORT_JOBS]
    return runs[-1] if runs else None


def failure(jobs: list[JobRecord], e: ExportFact | None = None) -> tuple[bool, str]:
    """A failed last export job, unless a complete export finished after it (one run by
    hand with `pgdr export run`): the archive has its export then."""
    last = last_export_job(jobs)
    if last is None:
        return False, "no export job yet"
    if last.status == "failed":
        done = e.latest_finished if e is not None else None
        if done is not None and done > datetime.fromisoformat(last.finished):
            return False, f"export {e.latest_id if e else '?'} completed after the failed job"
        return True, f"export job at {last.finished[:19]} failed: {last.error or '?'}"
    return False, f"export job at {last.finished[:19]} succeeded"


def export_summary(f: Facts, grace_s: float) -> dict[str, Any]:
    """The exports panel: state (ok | late | failed | unconfigured | unknown) and the newest
    complete export's numbers, from its manifest."""
    e = f.exports
    late, late_why = lateness(e, f.time, grace_s)
    failed, failed_why = failure(f.repo.jobs, e)
    if e is None or not e.configured:
        state, detail = "unconfigured", (e.error if e else None) or "exports not configured"
    elif failed:
        state, detail = "failed", failed_why
    elif late is None:
        state, detail = "unknown", late_why
    elif late:
        state, detail = "late", late_why
    else:
        state, detail = "ok", late_why
    out: dict[str, Any] = {
        "available": True,
        "configured": bool(e and e.configured),
        "state": state,
        "detail": detail,
        "url": e.url if e else None,
        "period_s": e.period_s if e else None,
        "complete": e.complete if e else 0,
        "incomplete": e.incomplete if e else 0,
        "latest": None,
    }
    if e is not None and e.latest_id and e.latest_finished:
        out["latest"] = {
            "id": e.latest_id,
            "finished": e.latest_finished.isoformat(),
            "age_s": (f.time - e.latest_finished).total_seconds(),
            "snapshot_time": e.latest_snapshot.isoformat() if e.latest_snapshot else None,
            "source": e.latest_source,
            "seconds": e.latest_seconds,
            "tables": len(e.tables),
            "rows": sum(t.rows for t in e.tables),
            "bytes": sum(t.bytes for t in e.tables),
            "per_table": [
                {"database": t.database, "table": t.table, "rows": t.rows, "bytes": t.bytes}
                for t in e.tables
            ],
        }
    return out
