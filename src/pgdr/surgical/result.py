"""What a table restore did (or, with --dry-run, would do), as the CLI shows it: one entry
per table in ``copies`` (--as) or ``missing`` (--missing-rows, in the order they went back)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from pgdr.humanize import human
from pgdr.surgical.copy_as import CopyOutcome
from pgdr.surgical.dump import DumpOutcome
from pgdr.surgical.missing import MissingOutcome


@dataclass
class TableRestoreResult:
    #: The tables restored (for --missing-rows in the order their rows went back).
    tables: list[str]
    database: str
    mode: str  # as | missing-rows | dump
    target: str
    backup_id: str
    dry_run: bool = False
    plan: list[str] = field(default_factory=list)
    copies: list[CopyOutcome] = field(default_factory=list)
    missing: list[MissingOutcome] = field(default_factory=list)
    dump: DumpOutcome | None = None
    sandbox: dict[str, object] = field(default_factory=dict)  # dir, removed
    #: What the sandbox restore fetched (only the table's database and the ones PostgreSQL
    #: needs), the databases it left out as files of zeros, and what those weigh.
    fetched_bytes: int | None = None
    left_out: list[str] = field(default_factory=list)
    left_out_bytes: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step

    def render_text(self, console: Console) -> None:
        if self.dry_run:
            console.print("dry run: nothing restored, nothing written")
            for line in self.plan:
                console.print(f"  would {escape(line)}")
            return
        where = f"in database {escape(self.database)} at {self.target}"
        for c in self.copies:
            console.print(
                f"copied {escape(c.source)} {where} into {escape(c.table)}: {c.rows} rows"
            )
            if c.recreated:
                console.print(f"recreated: {escape(', '.join(c.recreated))}")
            for s in c.skipped:
                console.print(f"[yellow]not recreated[/]: {escape(s)}")
            if c.not_kept:
                console.print(f"values copied, default not kept: {escape(', '.join(c.not_kept))}")
        if self.dump is not None:
            console.print(
                f"dumped {escape(', '.join(self.tables))} {where} into {escape(self.dump.file)}: "
                f"{human(self.dump.bytes)} "
                f"(pg_dump custom format; pg_restore --dbname DB {escape(self.dump.file)} "
                "brings it in)"
            )
        for m in self.missing:
            console.print(
                f"{escape(m.table)} {where}: {m.rows_at_target} rows at the target; inserted {m.inserted} "
                f"missing by primary key ({escape(', '.join(m.key))}); the live table went "
                f"from {m.rows_before} to {m.rows_after} rows"
            )
        if len(self.missing) > 1:
            console.print(
                "all in one transaction, each table after those its foreign keys point at"
            )
        if self.fetched_bytes is not None:
            skipped = (
                f"; left out {escape(', '.join(self.left_out))} ({human(self.left_out_bytes)}, "
                "not fetched)"
                if self.left_out
                else ""
            )
            console.print(f"sandbox restore fetched {human(self.fetched_bytes)}{skipped}")
        console.print(
            f"from backup {self.backup_id}; sandbox "
            f"{'removed' if self.sandbox.get('removed') else 'NOT removed: ' + str(self.sandbox.get('dir'))}"
        )
        if self.steps:
            console.print(
                "time per step: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.steps.items())
            )
