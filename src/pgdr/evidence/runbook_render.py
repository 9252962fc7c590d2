"""The runbook as Markdown (stdout, and the code blocks a test runs verbatim) and as HTML
(one screen per scenario)."""

from __future__ import annotations

from html import escape

from pgdr.evidence.figures import Figures, seconds_text
from pgdr.evidence.page import code, label, page
from pgdr.evidence.runbook import Runbook, Scenario

#: The comment before each code block: ``<!-- runbook: SCENARIO PART -->``, so a reader (or
#: the walk test) finds a scenario's commands without parsing prose.
PARTS = ("commands", "check", "cleanup")


def expectation(f: Figures | None) -> list[str]:
    """The RTO/RPO lines of a scenario, from records only."""
    if f is None or f.newest is None:
        return ["no drill measured: run `pgdr drill` or `pgdr gameday` for this scenario"]
    n = f.newest
    lines = [
        f"RTO: newest {seconds_text(n.rto_seconds)} ({n.result}, {n.when[:19]}Z, {n.record}); "
        f"median {seconds_text(f.median_rto_seconds)} and worst "
        f"{seconds_text(f.worst_rto_seconds)} of the last {f.measured}",
        f"RPO: newest {seconds_text(n.rpo_seconds)}; median "
        f"{seconds_text(f.median_rpo_seconds)} and worst {seconds_text(f.worst_rpo_seconds)}",
    ]
    if f.stale:
        lines.append("STALE: the newest measurement is older than [runbook] max_evidence_age_days")
    return lines


def _md_scenario(i: int, s: Scenario) -> list[str]:
    out = [f"## {i}. {s.title}", "", f"**When:** {s.when}", ""]
    out += ["**Expected (measured):**", ""] + [f"- {ln}" for ln in expectation(s.figures)] + [""]
    if s.not_configured:
        out += [f"**Not configured:** {s.not_configured}", ""]
    for part, title in zip(PARTS, ("Do", "Check after", "Clean up"), strict=True):
        lines = getattr(s, part)
        if lines:
            out += [f"**{title}:**", "", f"<!-- runbook: {s.id} {part} -->", "```sh"]
            out += [*lines, "```", ""]
    out += [n for note in s.notes for n in (note, "")]
    return out


def to_markdown(rb: Runbook) -> str:
    d = rb.deployment
    out = [
        f"# Recovery runbook: repository {d.repository}",
        "",
        f"Generated {rb.generated} from {d.config_path or '(default config)'}; figures from "
        f"the drill and game-day records of {d.repository_url}. Key material: "
        f"{d.key_material}. Object Lock: {d.object_lock}.",
        "",
    ]
    for i, s in enumerate(rb.scenarios, 1):
        out += _md_scenario(i, s)
    return "\n".join(out).rstrip() + "\n"


def _html_scenario(i: int, s: Scenario) -> str:
    f = s.figures
    cls = "none" if f is None or f.newest is None else ("stale" if f.stale else "passed")
    parts = [
        f'<section id="{escape(s.id)}"><h2>{i}. {escape(s.title)}</h2>',
        f"<p>{escape(s.when)}</p>",
        label("expected (measured)"),
        "".join(f"<div class={cls}>{escape(ln)}</div>" for ln in expectation(f)),
    ]
    if s.not_configured:
        parts.append(f"<p class=not-configured>Not configured: {escape(s.not_configured)}</p>")
    for part, title in zip(PARTS, ("do", "check after", "clean up"), strict=True):
        lines = getattr(s, part)
        if lines:
            parts += [label(title), code(lines)]
    parts += [f"<p>{escape(n)}</p>" for n in s.notes]
    return "".join(parts) + "</section>"


def to_html(rb: Runbook) -> str:
    d = rb.deployment
    return page(
        f"Recovery runbook: repository {d.repository}",
        f"generated {rb.generated} from {d.config_path}; key material: {d.key_material}; "
        f"Object Lock: {d.object_lock}",
        [_html_scenario(i, s) for i, s in enumerate(rb.scenarios, 1)],
    )


def code_blocks(markdown: str, scenario: str, part: str = "commands") -> list[str]:
    """The lines of one scenario's code block in a rendered runbook (what the walk runs)."""
    marker = f"<!-- runbook: {scenario} {part} -->\n```sh\n"
    if marker not in markdown:
        return []
    return markdown.split(marker, 1)[1].split("\n```", 1)[0].splitlines()
