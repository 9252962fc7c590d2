"""`pgdr audit [--verify]`: the repository's hash-chained audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.audit.verify import read_log
from pgdr.cli.context import get_context
from pgdr.cli.output import emit
from pgdr.cli.repo_target import open_repository
from pgdr.errors import AuditChainBroken


@dataclass
class AuditListing:
    repository: str
    verified: bool
    ok: bool
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        t = Table("seq", "time (UTC)", "action", "who", "where", "details")
        for e in self.entries:
            when = datetime.fromisoformat(e["time"]).strftime("%Y-%m-%d %H:%M:%S")
            details = ", ".join(f"{k}={v}" for k, v in e["details"].items())
            t.add_row(
                str(e["seq"]),
                when,
                e["action"],
                escape(f"{e['user']} ({e['uid']})"),
                escape(e["host"]),
                escape(details if len(details) < 100 else details[:97] + "..."),
            )
        console.print(t)
        for n in self.notes:
            console.print(f"[yellow]note[/]: {n}")
        for p in self.problems:
            console.print(f"[red]broken[/] {p['entry']}: {p['message']}")
        if self.verified and self.ok:
            console.print(f"[green]audit chain intact[/]: {len(self.entries)} entries")


def audit(
    ctx: typer.Context,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the chain; exit 87 naming a broken entry.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Show only the newest N entries.")
    ] = None,
) -> None:
    """List the audit log: who did what, where and when.

    Entries record backups, restores, key changes, replication, retention and WAL ingest
    summaries; each is hash-chained to the one before, so --verify finds a removed or edited
    entry."""
    cli = get_context(ctx)
    report = read_log(open_repository(cli.target()))
    entries = report.entries[-limit:] if limit else report.entries
    listing = AuditListing(
        repository=report.repository,
        verified=verify,
        ok=report.ok,
        entries=[{"key": e.key, **e.body()} for e in entries],
        problems=[{"entry": p.entry, "message": p.message} for p in report.problems],
        notes=report.notes,
    )
    emit(cli, listing)
    if verify and not report.ok:
        first = report.problems[0]
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise AuditChainBroken(f"audit log broken: {first.entry}: {first.message}{more}")
