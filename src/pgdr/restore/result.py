"""What a restore did, as the CLI shows it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from pgdr.humanize import duration, human
from pgdr.restore.delta import DeltaStats
from pgdr.restore.hints import owner_and_caller, pg_ctl_command


@dataclass
class RestoreResult:
    backup_id: str
    data_dir: str
    target: str
    files: int
    bytes: int
    phases: dict[str, float] = field(default_factory=dict)
    port: int | None = None
    in_recovery: bool | None = None
    delta: DeltaStats | None = None
    timeline: str | None = None  # recovery_target_timeline as written
    backup_timeline: str | None = None
    #: Production's timeline (pgdr.restore.production) and how the followed one relates.
    production_timeline: int | None = None
    timeline_role: str | None = None
    archive_mode: str = "preserve"  # preserve | off | repository
    archive_command: str | None = None  # written by --archive-mode repository
    shut_down_at_target: bool = False  # --start with --target-action shutdown
    #: How to start / stop the restored server, as the caller runs it (pgdr.restore.hints:
    #: as its owner, through runuser or sudo when that is another user).
    start_command: str | None = None
    stop_command: str | None = None
    #: ``--database``: the databases kept, the ones left out (files of zeros), what those
    #: weigh (never fetched), and whether pgdr dropped them (it started and promoted).
    databases: list[str] | None = None
    left_out: list[str] | None = None
    zeroed_files: int = 0
    zeroed_bytes: int = 0
    dropped: bool = False

    def __post_init__(self) -> None:
        owner, caller = owner_and_caller(self.data_dir)
        if self.start_command is None:
            self.start_command = pg_ctl_command(self.data_dir, "start", owner, caller)
        if self.stop_command is None:
            self.stop_command = pg_ctl_command(self.data_dir, "stop", owner, caller)

    def render_text(self, console: Console) -> None:
        console.print(
            f"restored backup [bold]{self.backup_id}[/] into {self.data_dir} "
            f"(target: {self.target}): {self.files} files, {human(self.bytes)}"
        )
        if self.timeline is not None and self.timeline != self.backup_timeline:
            console.print(
                f"following timeline {self.timeline} (the backup is on timeline "
                f"{self.backup_timeline}); pass --timeline {self.backup_timeline} for the "
                "original history"
            )
        if self.timeline_role is not None and self.timeline_role != "production":
            console.print(
                f"[yellow]timeline {self.timeline} is not production's (timeline "
                f"{self.production_timeline}): {self.timeline_role}[/]"
            )
        if self.archive_mode == "off":
            console.print(
                "[yellow]archiving is off in the restored server (--archive-mode off)[/]: right "
                "for a restore beside production; if this server REPLACES production, its new "
                "timeline is unprotected — restore with --archive-mode repository, or run "
                "`pgdr setup --apply` against it and restart it"
            )
        elif self.archive_mode == "repository":
            console.print(f"the restored server archives with: {self.archive_command}")
        if self.left_out is not None:
            kept = escape(", ".join(self.databases or []))
            left = escape(", ".join(self.left_out)) or "none"
            console.print(
                f"databases restored: {kept}; left out: {left} "
                f"({self.zeroed_files} files, {human(self.zeroed_bytes)} not fetched)"
            )
            if self.left_out and self.dropped:
                console.print("the left-out databases were dropped from the restored server")
            elif self.left_out:
                drops = "; ".join(f'DROP DATABASE "{n}"' for n in self.left_out)
                console.print(
                    "[yellow]the left-out databases hold zeros, not data[/]: once the server is "
                    f"promoted, drop them: {escape(drops)}"
                )
        if self.delta is not None:
            d = self.delta
            console.print(
                f"delta: {d.files_changed} of {d.files} files differed, "
                f"{human(d.bytes_written)} of {human(d.bytes)} rewritten, {d.removed} removed"
            )
        console.print(
            "time per phase: " + ", ".join(f"{k} {duration(v)}" for k, v in self.phases.items())
        )
        if self.port is not None:
            state = "paused in recovery" if self.in_recovery else "promoted and accepting writes"
            console.print(f"server running on port {self.port}: {state}")
            console.print(f"stop it with: {escape(self.stop_command or '')}")
        elif self.shut_down_at_target:
            console.print("the server replayed WAL to the target and shut down (target action)")
        else:
            console.print(
                f"next: start it ({escape(self.start_command or '')}); it replays WAL to the target"
            )
            if self.target.split(" ", 1)[0] in ("time", "lsn", "xid", "name"):
                console.print(
                    "if it stops with 'recovery ended before configured recovery target was "
                    "reached', the target is past the archived WAL: run SELECT pg_switch_wal() "
                    "on production, or choose a target inside the window `pgdr info` prints"
                )
