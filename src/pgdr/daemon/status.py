"""The picture `pgdr status` prints and the dashboard's JSON API serves: protection state,
jobs, alerts — built from one snapshot of facts (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.daemon.alert_rules import RULES, AlertState
from pgdr.daemon.cron import Schedule
from pgdr.daemon.export_state import export_summary
from pgdr.daemon.facts import Facts
from pgdr.daemon.jobs import REGISTRY, UNAVAILABLE
from pgdr.humanize import human

_SEV_ORDER = {"critical": 0, "warning": 1}
#: [alerts] export_grace_s's default (the daemon passes the configured value).
EXPORT_GRACE_S = 2 * 86400.0


@dataclass
class StatusReport:
    time: str
    repository: dict[str, Any]
    postgres: dict[str, Any]
    backups: dict[str, Any]
    window: dict[str, Any]
    wal: dict[str, Any]
    storage: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    drill: dict[str, Any] | None
    exports: dict[str, Any]
    alerts: list[dict[str, Any]]
    firing: list[str] = field(default_factory=list)
    #: `pgdr serve`: its live scheduler state; `pgdr status`: whether a daemon runs
    #: (``daemon.presence``)
    daemon: dict[str, Any] | None = None
    #: RDS mode: the [rds] instance's PITR state (instance, up, error, latest_restorable,
    #: pitr_lag_s, retention_days, policy_days).
    rds: dict[str, Any] | None = None

    @property
    def worst(self) -> str | None:
        sev = [a["severity"] for a in self.alerts if a["state"] == "firing"]
        return min(sev, key=lambda s: _SEV_ORDER[s]) if sev else None

    def render_text(self, console: Console) -> None:
        r, pg = self.repository, self.postgres
        up = "[green]reachable[/]" if r["up"] else f"[red]UNREACHABLE[/] ({r['error']})"
        console.print(f"repository  {r['url']}: {up}, {human(r.get('total_bytes', 0))}")
        db = "[green]up[/]" if pg["up"] else f"[red]DOWN[/] ({pg['error']})"
        console.print(f"database    {db}")
        if self.daemon and self.daemon.get("detail"):
            running = self.daemon.get("running")
            color = "green" if running else "dim" if running is None else "yellow"
            console.print(f"daemon      [{color}]{escape(self.daemon['detail'])}[/]")
        latest = self.backups.get("latest")
        if latest:
            console.print(
                f"last backup {latest['id']} ({latest['type']}), {_age(latest['age_s'])} ago, "
                f"{human(latest['bytes'])} ({human(latest['stored_bytes'])} stored); "
                f"{self.backups['count']} backup(s)"
            )
        else:
            console.print("last backup [red]none[/]")
        w = self.window
        if w.get("start"):
            tl = f", production timeline {w['timeline']}" if w.get("timeline") else ""
            console.print(f"PITR window {w['start']} .. {w['end']} ({_age(w['seconds'])}{tl})")
        if self.wal.get("lag_segments") is not None:
            console.print(
                f"WAL         {self.wal['lag_segments']} segment(s) waiting, "
                f"~{_age(self.wal['lag_seconds'] or 0)}"
            )
        for v in self.storage:
            console.print(
                f"storage     {v['volume']} {v['path']}: {human(v['free_bytes'])} free "
                f"({v['free_pct']:.1f} %)"
            )
        if self.rds:
            console.print(_rds_line(self.rds))
        if self.drill:
            d = self.drill
            console.print(f"last drill  {d['id']}: {d['status']} (RTO {d.get('rto_s')} s)")
        console.print(_export_line(self.exports))
        t = Table("job", "schedule", "last run", "result", "next", title="jobs")
        for j in self.jobs:
            last = j.get("last") or {}
            result = last.get("status", "")
            if j.get("unavailable"):
                result = f"[dim]{j['unavailable']}[/]"
            elif j.get("last_error"):
                result = f"[yellow]retrying[/]: {j['last_error']}"
            elif result == "failed":
                result = f"[red]failed[/]: {last.get('error')}"
            t.add_row(
                j["kind"],
                j["schedule"],
                last.get("finished", "")[:19],
                result,
                (j.get("next") or "")[:19],
            )
        console.print(t)
        a = Table("alert", "severity", "state", "detail", title="alerts")
        for al in self.alerts:
            color = {"firing": "red", "pending": "yellow"}.get(al["state"], "green")
            a.add_row(al["name"], al["severity"], f"[{color}]{al['state']}[/]", al["summary"])
        console.print(a)


def _export_line(e: dict[str, Any]) -> str:
    color = {"ok": "green", "late": "yellow", "failed": "red"}.get(e["state"], "dim")
    line = f"exports     [{color}]{e['state']}[/]"
    last = e.get("latest")
    if not last:
        return f"{line}: {escape(e['detail'])}"
    line += (
        f": last {last['id']}, {_age(last['age_s'])} old, {last['tables']} table(s), "
        f"{last['rows']} rows, {human(last['bytes'])}"
    )
    return line if e["state"] == "ok" else f"{line} ({escape(e['detail'])})"


def _rds_line(r: dict[str, Any]) -> str:
    where = f"RDS         {r['instance']}: "
    if not r["up"]:
        return where + f"[red]UNREACHABLE[/] ({escape(r['error'] or '')})"
    lag = r["pitr_lag_s"]
    rpo = f"restorable to {_age(lag)} ago" if lag is not None else "[red]no restorable time[/]"
    return where + f"{rpo}, backups kept {r['retention_days']} of {r['policy_days']} day(s)"


def _age(seconds: float) -> str:
    if seconds >= 172800:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def build_status(
    f: Facts,
    alerts: dict[str, AlertState],
    schedules: dict[str, str],
    scheduler: list[dict[str, Any]] | None = None,
    export_grace_s: float = EXPORT_GRACE_S,
) -> StatusReport:
    now = f.time
    repo, pg = f.repo, f.pg
    backups = sorted(repo.backups, key=lambda b: b.stop_time)
    latest = backups[-1] if backups else None
    live = {s["kind"]: s for s in scheduler or []}
    jobs = []
    for kind, expr in schedules.items():
        recs = [j for j in repo.jobs if j.kind == kind]
        last = recs[-1] if recs else None
        row: dict[str, Any] = {"kind": kind, "schedule": expr, **live.get(kind, {})}
        row["kind"], row["schedule"] = kind, expr
        if kind in UNAVAILABLE and kind not in REGISTRY:
            row["unavailable"] = UNAVAILABLE[kind]
        elif "next" not in row:
            nxt = Schedule.parse(expr).next(now)
            row["next"] = nxt.isoformat() if nxt else None
        row["runs"] = len(recs)
        row["failed"] = sum(1 for j in recs if j.status == "failed")
        if last:
            row["last"] = {
                "slot": last.slot,
                "started": last.started,
                "finished": last.finished,
                "status": last.status,
                "error": last.error,
                "seconds": round(last.seconds, 3),
            }
        jobs.append(row)
    alert_rows = [
        {
            "name": name,
            "severity": RULES[name][0],
            "state": st.state,
            "since": st.since,
            "summary": st.summary,
        }
        for name, st in sorted(
            alerts.items(), key=lambda kv: (kv[1].state != "firing", _SEV_ORDER[RULES[kv[0]][0]])
        )
    ]
    drill = repo.drills[-1] if repo.drills else None
    return StatusReport(
        time=now.isoformat(),
        repository={
            "url": repo.url,
            "up": repo.up,
            "error": repo.error,
            "bytes_by_kind": repo.bytes_by_kind,
            "total_bytes": sum(repo.bytes_by_kind.values()),
        },
        postgres={
            "up": pg.up,
            "error": pg.error,
            "timeline": pg.timeline,
            "archive_mode": pg.archive_mode,
            "last_archived_wal": pg.last_archived_wal,
            "archive_failures": pg.failed_count,
            "standbys": [
                {
                    "name": s.name,
                    "state": s.state,
                    "lag_s": s.replay_lag_s,
                    "lag_bytes": s.lag_bytes,
                }
                for s in pg.standbys
            ],
        },
        backups={
            "count": len(backups),
            "full": sum(1 for b in backups if b.type == "full"),
            "incr": sum(1 for b in backups if b.type == "incr"),
            "latest": {
                "id": latest.id,
                "type": latest.type,
                "stop_time": latest.stop_time.isoformat(),
                "age_s": (now - latest.stop_time).total_seconds(),
                "bytes": latest.bytes,
                "stored_bytes": latest.stored_bytes,
                "seconds": latest.seconds,
            }
            if latest
            else None,
        },
        window={
            "start": _iso(repo.window_start),
            "end": _iso(repo.window_end),
            "seconds": (repo.window_end - repo.window_start).total_seconds()
            if repo.window_start and repo.window_end
            else 0,
            "timeline": repo.production_timeline,
        },
        wal={
            "lag_segments": f.wal_lag_segments,
            "lag_seconds": f.wal_lag_seconds,
            "gaps": repo.wal_gaps,
        },
        storage=[
            {
                "volume": v.name,
                "path": v.path,
                "free_bytes": v.free_bytes,
                "total_bytes": v.total_bytes,
                "free_pct": round(v.free_pct, 2),
            }
            for v in f.volumes
        ],
        jobs=jobs,
        drill={
            "id": drill.id,
            "time": drill.time.isoformat(),
            "passed": drill.passed,
            "status": drill.status,
            "seconds": drill.seconds,
            "rto_s": drill.rto_s,
            "rpo_s": drill.rpo_s,
        }
        if drill
        else None,
        exports=export_summary(f, export_grace_s),
        alerts=alert_rows,
        firing=[str(a["name"]) for a in alert_rows if a["state"] == "firing"],
        rds={
            "instance": f.rds.instance,
            "up": f.rds.up,
            "error": f.rds.error,
            "latest_restorable": _iso(f.rds.latest_restorable),
            "pitr_lag_s": f.rds.pitr_lag_s(now),
            "retention_days": f.rds.retention_days,
            "policy_days": f.rds.policy_days,
        }
        if f.rds
        else None,
    )


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
