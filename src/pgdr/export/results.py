"""Result objects of `pgdr export` (and the demo's export step), each with a text rendering
(``--json`` renders the same objects as JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.export.manifest import ExportManifest, format_time
from pgdr.export.target import ExportListing
from pgdr.humanize import human, utc


@dataclass
class ExportList:
    url: str
    #: complete exports; with --all incomplete ones too, marked (never as done)
    exports: list[ExportListing]
    #: incomplete exports left out (without --all)
    incomplete_hidden: int = 0

    def render_text(self, console: Console) -> None:
        shown, hidden = self.exports, self.incomplete_hidden
        if not shown:
            console.print(f"no complete exports at {escape(self.url)}")
        else:
            t = Table(box=None)
            t.add_column("export", no_wrap=True, min_width=23)  # ids are never cut
            for col in ("state", "objects", "size", "last write"):
                t.add_column(col)
            for e in shown:
                t.add_row(
                    e.export_id,
                    "complete" if e.complete else "[yellow]INCOMPLETE[/]",
                    str(e.objects),
                    human(e.bytes),
                    utc(e.modified, seconds=False) if e.modified else "-",
                )
            console.print(t)
        if hidden:
            console.print(f"{hidden} incomplete export(s) not shown (--all lists them)")


@dataclass
class ExportSummary:
    manifest: ExportManifest
    complete: bool
    url: str = ""

    def render_text(self, console: Console) -> None:
        m = self.manifest
        s = m.source
        what = {
            "backup": f"backup {s.backup_id}" + (f" at LSN {s.lsn}" if s.lsn else ""),
            "live": "live server" + (f" at LSN {s.lsn}" if s.lsn else ""),
            "rds-snapshot": f"RDS snapshot {s.snapshot}",
        }[s.kind]
        console.print(
            f"export {m.export_id} ({'complete' if self.complete else 'INCOMPLETE'}) "
            f"at {escape(self.url)}"
        )
        console.print(f"source: {escape(what)}; consistent at {format_time(m.snapshot_time)}")
        console.print(
            f"PostgreSQL {m.pg_version or '?'}, system {m.system_identifier or '?'}; "
            f"{m.total_rows} rows, {human(m.total_bytes)} in "
            f"{sum(len(t.files) for t in m.tables)} file(s), {len(m.tables)} table(s)"
        )
        t = Table(box=None)
        for col in ("database", "table", "rows", "size", "files", "partitioned by"):
            t.add_column(col)
        for tb in m.tables:
            t.add_row(
                tb.database,
                escape(tb.qualified),
                str(tb.rows),
                human(tb.bytes),
                str(len(tb.files)),
                tb.partition_by or "",
            )
        console.print(t)
        for tb in m.tables:
            for c in tb.columns:
                if c.note:
                    console.print(
                        f"note: {escape(tb.qualified)}.{escape(c.name)}: {escape(c.note)}"
                    )
