"""The compliance report as text (stdout) and as HTML (--html FILE)."""

from __future__ import annotations

from html import escape

from pgdr.evidence.compliance import ComplianceReport
from pgdr.evidence.page import page


def to_text(r: ComplianceReport) -> str:
    out = [f"Compliance evidence, generated {r.generated}, period {r.period_days:g} days", ""]
    for c in r.controls:
        out.append(f"[{c.state}] {c.id}: {c.title}")
        out.append(f"    {', '.join(c.frameworks)}")
        out.append(f"    {c.why}")
        out += [f"    evidence: {rec}" for rec in c.records]
    if r.sha256:
        out += [
            "",
            f"report sha256 {r.sha256}"
            + (f", audit entry {r.audit_entry}" if r.audit_entry else ""),
        ]
    return "\n".join(out) + "\n"


def to_html(r: ComplianceReport) -> str:
    rows = "".join(
        f'<tr><td class="{c.state.replace(" ", "-")}">{escape(c.state)}</td>'
        f"<td><b>{escape(c.title)}</b><br><small>{escape(', '.join(c.frameworks))}</small></td>"
        f"<td>{escape(c.why)}</td>"
        f"<td>{'<br>'.join(f'<code>{escape(x)}</code>' for x in c.records)}</td></tr>"
        for c in r.controls
    )
    table = (
        "<section><h2>Controls</h2><table><tr><th>state</th><th>control</th><th>why</th>"
        f"<th>evidence</th></tr>{rows}</table></section>"
    )
    foot = (
        f"<section><p>report sha256 <code>{escape(r.sha256)}</code></p></section>"
        if r.sha256
        else ""
    )
    return page(
        "Compliance evidence",
        f"generated {r.generated}; period {r.period_days:g} days",
        [table, foot] if foot else [table],
    )
