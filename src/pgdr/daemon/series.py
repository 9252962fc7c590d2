"""Chart data for the dashboard (pure): backup success per day (scheduled runs from job
records plus manual backups from the catalog), backup sizes and the storage
trend, the PITR window with its backups, drill results and RTO, export status."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pgdr.daemon.export_state import export_summary
from pgdr.daemon.facts import Facts

DAYS = 30


def dashboard_series(
    f: Facts, days: int = DAYS, export_grace_s: float = 2 * 86400.0
) -> dict[str, Any]:
    now = f.time
    since = (now - timedelta(days=days - 1)).date()
    per_day: dict[str, dict[str, int]] = defaultdict(
        lambda: {"success": 0, "failed": 0, "manual": 0}
    )
    for j in f.repo.jobs:  # scheduled backups, failed ones included
        if not j.kind.startswith("backup"):
            continue
        day = datetime.fromisoformat(j.finished).date()
        if day >= since:
            per_day[day.isoformat()][j.status if j.status == "failed" else "success"] += 1
    for b in f.repo.backups:  # manual backups: in the catalog, with no job record
        if not b.scheduled and b.stop_time.date() >= since:
            counts = per_day[b.stop_time.date().isoformat()]
            counts["success"] += 1
            counts["manual"] += 1
    success_days: list[dict[str, Any]] = []
    for i in range(days):
        d = (since + timedelta(days=i)).isoformat()
        success_days.append({"day": d, **per_day.get(d, {"success": 0, "failed": 0, "manual": 0})})
    total = sum(int(x["success"]) + int(x["failed"]) for x in success_days)
    ok = sum(int(x["success"]) for x in success_days)
    manual = sum(int(x["manual"]) for x in success_days)
    backups = sorted(f.repo.backups, key=lambda b: b.stop_time)
    storage, cumulative = [], 0
    for b in backups:
        cumulative += b.stored_bytes
        storage.append({"time": b.stop_time.isoformat(), "bytes": cumulative})
    return {
        "time": now.isoformat(),
        "backup_success": {
            "days": success_days,
            "rate": (ok / total) if total else None,
            "runs": total,
            "succeeded": ok,
            "failed": total - ok,
            "manual": manual,
        },
        "backups": [
            {
                "id": b.id,
                "type": b.type,
                "time": b.stop_time.isoformat(),
                "bytes": b.bytes,
                "stored_bytes": b.stored_bytes,
                "seconds": b.seconds,
            }
            for b in backups[-60:]
        ],
        "storage": {
            # cumulative stored bytes of the backups in the catalog (their data packs)
            "trend": storage[-120:],
            "data_bytes": cumulative,
            # everything in the repository now (data, WAL, index, manifests...): `pgdr status`
            "total_bytes": sum(f.repo.bytes_by_kind.values()),
            "by_kind": f.repo.bytes_by_kind,
            "volumes": [
                {"volume": v.name, "free_bytes": v.free_bytes, "total_bytes": v.total_bytes}
                for v in f.volumes
            ],
        },
        "window": {
            "start": f.repo.window_start.isoformat() if f.repo.window_start else None,
            "end": f.repo.window_end.isoformat() if f.repo.window_end else None,
            "backups": [b.stop_time.isoformat() for b in backups],
        },
        "drills": [
            {
                "id": d.id,
                "time": d.time.isoformat(),
                "passed": d.passed,
                "status": d.status,
                "rto_s": d.rto_s,
                "rpo_s": d.rpo_s,
                "seconds": d.seconds,
            }
            for d in f.repo.drills[-52:]
        ],
        "exports": export_summary(f, export_grace_s),
    }
