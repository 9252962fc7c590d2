"""A drill record for people: a terminal table (rich), Markdown, and one self-contained HTML
page with the step timings drawn as an inline SVG bar chart (no external assets)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from pgdr.drill.record import DrillRecord, History

MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
COLOUR = {"pass": "#2e7d32", "warn": "#f9a825", "fail": "#c62828", "skip": "#9e9e9e"}


def _db(name: str | None) -> str:
    return "" if name in (None, "*") else str(name)


def _rpo(rec: DrillRecord) -> str:
    if rec.rpo_seconds is None:
        return "n/a"
    s = rec.rpo_seconds
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def headline(rec: DrillRecord) -> str:
    return (
        f"Drill {rec.id}: {rec.result.upper()} — backup {rec.backup.get('id', '?')}, target "
        f"{rec.target.get('value') or rec.target.get('kind', '?')}{_timeline(rec)}; "
        f"RTO {rec.rto_seconds:.1f} s, RPO {_rpo(rec)}"
    )


def totals(rec: DrillRecord) -> list[tuple[str, float]]:
    """The sum rows of the steps table: one when every step is recovery (a sandbox drill),
    else the total and the RTO without the steps that are not (an RDS drill's baseline and
    cleanup)."""
    if abs(rec.total_seconds - rec.rto_seconds) < 0.0005:
        return [("total (RTO)", rec.total_seconds)]
    return [("total", rec.total_seconds), ("RTO (recovery steps)", rec.rto_seconds)]


def where(rec: DrillRecord) -> str:
    """The instance the drill checked: its sandbox directory, or the RDS drill instance."""
    if rec.sandbox.get("provider") == "rds":
        return f"RDS instance {rec.sandbox.get('instance', '?')} (from {rec.sandbox.get('source', '?')})"
    return f"sandbox: {rec.sandbox.get('dir', '')}"


def _timeline(rec: DrillRecord) -> str:
    """Which timeline recovery followed and whose it is (records before it say nothing)."""
    followed = rec.timeline.get("followed")
    if followed is None:
        return ""
    role = rec.timeline.get("role")
    return f", timeline {followed}" + (f" ({role})" if role else "")


def recovery_target(rec: DrillRecord) -> str:
    """'time 2026-11-22T01:59:00+00:00', 'lsn 0/3000060', 'xid 1234' or 'latest'."""
    kind = rec.target.get("kind")
    if not kind:
        return "not chosen"
    value = rec.target.get("value")
    return str(kind) if value in (None, "") else f"{kind} {value}"


def recovery_reached(rec: DrillRecord) -> str:
    """Where replay stopped: 'LSN 0/3000060 on timeline 1 (production)', or why unknown."""
    lsn = rec.reached.get("lsn")
    followed = rec.reached.get("timeline") or rec.timeline.get("followed")
    if not lsn and rec.sandbox.get("provider") == "rds":  # RDS replays; it reports no LSN
        return "restored by RDS" if rec.sandbox.get("endpoint") else "not restored"
    if not lsn:
        return "not reached" + (f" (timeline {followed} chosen)" if followed else "")
    role = rec.timeline.get("role")
    return f"LSN {lsn} on timeline {followed}" + (f" ({role})" if role else "")


def render_console(rec: DrillRecord, console: Console) -> None:
    style = (
        "green" if rec.result == "passed" else "yellow" if rec.result == "warning" else "bold red"
    )
    console.print(f"[{style}]{escape(headline(rec))}[/]")
    console.print(
        f"recovery target {escape(recovery_target(rec))}; reached {escape(recovery_reached(rec))}"
    )
    steps = Table("step", "seconds", title="Steps")
    for s in rec.steps:
        steps.add_row(s.name, f"{s.seconds:.2f}")
    for label, secs in totals(rec):
        steps.add_row(f"[bold]{label}[/]", f"[bold]{secs:.2f}[/]")
    console.print(steps)
    for db, data in rec.data.items():
        t = Table("table", "rows", "at backup", "indexes", title=f"Data: {db}")
        for row in data.get("tables", []):
            rows = "missing" if row["rows"] is None else f"{row['rows']:,}"
            before = "" if row["rows_at_backup"] is None else f"{row['rows_at_backup']:,}"
            t.add_row(row["name"], rows, before, str(row["indexes"]))
        t.add_row("[bold]all[/]", "", "", f"[bold]{data.get('indexes', 0)}[/]")
        console.print(t)
    checks = Table("check", "database", "result", "detail", "s", title="Checks")
    for c in rec.checks:
        checks.add_row(
            escape(c.name),
            _db(c.database),
            f"[{STYLE[c.status]}]{MARK[c.status]}[/]",
            escape(c.detail),
            f"{c.seconds:.2f}",
        )
    console.print(checks)
    if rec.connect_ms is not None:
        console.print(f"connection time {rec.connect_ms:.1f} ms; data freshness (RPO) {_rpo(rec)}")
    for n in rec.notifications:
        console.print(
            f"notified {n['channel']}: "
            + ("ok" if n["ok"] else f"[red]FAILED[/] {escape(str(n['error']))}")
        )
    console.print(escape(rec.message))


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _n(v: int | None, none: str = "") -> str:
    return none if v is None else f"{v:,}"


def render_markdown(rec: DrillRecord) -> str:
    out = [
        f"# {headline(rec)}",
        "",
        rec.message,
        "",
        f"Recovery target: {_md(recovery_target(rec))} · reached: {_md(recovery_reached(rec))}",
        "",
        "## Steps",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    out += [f"| {s.name} | {s.seconds:.2f} |" for s in rec.steps]
    out += [f"| **{label}** | **{secs:.2f}** |" for label, secs in totals(rec)] + [""]
    for db, data in rec.data.items():
        out += [
            f"## Data: {db}",
            "",
            "| table | rows | at backup | indexes |",
            "|---|---:|---:|---:|",
        ]
        for row in data.get("tables", []):
            rows = "missing" if row["rows"] is None else f"{row['rows']:,}"
            before = "" if row["rows_at_backup"] is None else f"{row['rows_at_backup']:,}"
            out.append(f"| {row['name']} | {rows} | {before} | {row['indexes']} |")
        out += [f"| **all** | | | **{data.get('indexes', 0)}** |", ""]
    out += ["## Checks", "", "| check | database | result | detail |", "|---|---|---|---|"]
    out += [
        f"| {c.name} | {_db(c.database)} | {MARK[c.status]} | {_md(c.detail)} |" for c in rec.checks
    ]
    out += [
        "",
        f"Connection time: {rec.connect_ms or 0:.1f} ms · data freshness (RPO): {_rpo(rec)} · "
        f"{where(rec)} · host {rec.host}",
        "",
    ]
    return "\n".join(out)


def steps_svg(rec: DrillRecord, width: int = 640) -> str:
    """Horizontal bars, one per step, scaled to the longest; labels and seconds as text."""
    bar_h, gap, left, right = 22, 6, 150, 70
    steps = rec.steps or []
    longest = max((s.seconds for s in steps), default=1.0) or 1.0
    height = len(steps) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="step timings">'
    ]
    for i, s in enumerate(steps):
        y = gap + i * (bar_h + gap)
        w = max(1.0, (width - left - right) * s.seconds / longest)
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="13">{html.escape(s.name)}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#1565c0"><title>{html.escape(s.name)}: {s.seconds:.2f} s</title></rect>'
        )
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="13">{s.seconds:.2f} s</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(rec: DrillRecord) -> str:
    e = html.escape
    colour = COLOUR[
        "pass" if rec.result == "passed" else "warn" if rec.result == "warning" else "fail"
    ]
    rows = "".join(
        f'<tr><td>{e(c.name)}</td><td>{e(_db(c.database))}</td><td style="color:{COLOUR[c.status]};font-weight:bold">{MARK[c.status]}</td><td>{e(c.detail)}</td></tr>'
        for c in rec.checks
    )
    data = ""
    for db, d in rec.data.items():
        trs = "".join(
            f"<tr><td>{e(r['name'])}</td><td class=n>{_n(r['rows'], 'missing')}</td>"
            f"<td class=n>{_n(r['rows_at_backup'])}</td><td class=n>{r['indexes']}</td></tr>"
            for r in d.get("tables", [])
        )
        data += f"<h2>Data: {e(db)}</h2><table><tr><th>table</th><th>rows</th><th>at backup</th><th>indexes</th></tr>{trs}<tr><th>all</th><td></td><td></td><th class=n>{d.get('indexes', 0)}</th></tr></table>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pgdr drill {e(rec.id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.n{{text-align:right}}.result{{color:{colour}}}</style></head>
<body><h1 class="result">{e(headline(rec))}</h1><p>{e(rec.message)}</p>
<h2>Recovery</h2><table class="recovery"><tr><th>backup</th><td>{e(str(rec.backup.get("id", "?")))}</td></tr>
<tr><th>target</th><td class="target">{e(recovery_target(rec))}</td></tr>
<tr><th>reached</th><td class="reached">{e(recovery_reached(rec))}</td></tr></table>
<h2>Steps (total {rec.total_seconds:.2f} s, RTO {rec.rto_seconds:.2f} s)</h2>{steps_svg(rec)}
{data}<h2>Checks</h2><table><tr><th>check</th><th>database</th><th>result</th><th>detail</th></tr>{rows}</table>
<p>Connection time {rec.connect_ms or 0:.1f} ms · data freshness (RPO) {e(_rpo(rec))} · host {e(rec.host)} · started {e(rec.started)}</p>
</body></html>
"""


def write_report(rec: DrillRecord, path: Path) -> None:
    """By extension: .html/.htm, .md, .json. Owner-only (0600) and written atomically: a
    report names the production tables and their row counts (§11); to serve it, the
    operator grants read access explicitly."""
    import json

    from pgdr.errors import UsageError
    from pgdr.localfs import atomic_write

    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        text = render_html(rec)
    elif suffix == ".json":
        text = json.dumps(rec.to_doc(), indent=2)
    else:
        text = render_markdown(rec)
    try:
        atomic_write(path, text)
    except OSError as e:
        raise UsageError(f"cannot write the drill report {path}: {e.strerror}") from None


def render_history(h: History, console: Console) -> None:
    t = Table("drill", "backup", "target", "tl", "result", "RTO s", "RPO s", "failed")
    for d in h.drills:
        style = STYLE[
            "pass" if d["result"] == "passed" else "warn" if d["result"] == "warning" else "fail"
        ]
        rpo = "" if d["rpo_seconds"] is None else f"{d['rpo_seconds']:.0f}"
        t.add_row(
            d["id"],
            str(d["backup"] or ""),
            str(d["target"] or ""),
            str(d.get("timeline") or ""),
            f"[{style}]{d['result']}[/]",
            f"{d['rto_seconds']:.1f}",
            rpo,
            ", ".join(d["failed"]),
        )
    console.print(t)
    if h.total:
        assert h.pass_rate is not None
        console.print(f"{h.passed} of {h.total} drills passed ({100 * h.pass_rate:.0f}%)")
        if h.rto_seconds:
            r = h.rto_seconds
            console.print(
                f"RTO: last {r['last']:.1f} s, median {r['median']:.1f} s, range {r['min']:.1f}–{r['max']:.1f} s"
            )
        if h.rpo_seconds:
            r = h.rpo_seconds
            console.print(
                f"RPO: last {r['last']:.0f} s, median {r['median']:.0f} s, worst {r['max']:.0f} s"
            )
    else:
        console.print("no drills recorded yet: run `pgdr drill`")
