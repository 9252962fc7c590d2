"""The default export source: a backup restored into a drill-style sandbox at a chosen point,
so an export never reads production (docs/design.md §8j).

The sandbox is the drill's (``pgdr.drill.sandbox``: private directory, no TCP, peer access
for its own OS user only, markers so a killed export's sandbox is reaped by the next drill or
export), and the restore is ``pgdr.restore.run``'s, as a drill runs it. The sandbox is removed
when the export ends, also on failure or Ctrl-C.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pgdr.drill.choose import choose
from pgdr.drill.engine import newest_wal_time
from pgdr.drill.sandbox import Sandbox, reap, sandbox_settings
from pgdr.drill.settings import DrillSettings
from pgdr.errors import IntegrityError
from pgdr.export.manifest import Source
from pgdr.export.run import SourceInfo, new_export_id
from pgdr.paths import default_state_dir
from pgdr.pg.recovery_watch import wait_for_target
from pgdr.repo.repository import Repository
from pgdr.restore.commands import hand_over_command
from pgdr.restore.run import RestoreSource, restore


@contextmanager
def restored_backup(
    repo: Repository,
    backup: str,
    when: str,
    settings: DrillSettings,
    *,
    superuser: str = "postgres",
    bindir: Path | None = None,
    say: Callable[[str], None] = lambda _t: None,
) -> Iterator[tuple[Callable[[str], str], SourceInfo]]:
    """Yield (database -> conninfo, what the source is) for a sandbox holding ``backup``
    (latest | id | label) recovered to ``when`` (latest | ISO time)."""
    now = datetime.now(UTC)
    state_dir = settings.state_dir or default_state_dir()
    reap(state_dir)
    source = RestoreSource.read(repo)
    backups, damaged = source.backups.manifests, source.backups.damaged
    if not backups and damaged:
        bid, why = min(damaged.items())
        raise IntegrityError(f"backup {bid} cannot be exported: {why}")
    choice = choose(backups, backup, when, newest_wal_time(source), now, random.Random(0))
    say(f"restoring backup {choice.backup_id} to {choice.target.describe()} in a sandbox")
    sandbox = Sandbox.create(
        settings.sandbox_dir, state_dir, "export-" + new_export_id(now), superuser
    )
    try:
        restore(
            repo,
            sandbox.data_dir,
            target=choice.target,
            restore_command=hand_over_command(),
            backup=choice.backup_id,
            place_all_wal=True,
            source=source,
        )
        cluster = sandbox.start(
            sandbox_settings(sandbox.base, settings.shared_buffers),
            settings.start_timeout_s,
            bindir,
            superuser,
        )
        wait_for_target(
            cluster,
            target=choice.target.describe(),
            promoted=True,
            timeout=settings.start_timeout_s,
            poll=0.1,
        )
        row = cluster.sql("SELECT pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp()")[
            0
        ]
        doc = next(b for b in backups if b.id == choice.backup_id)
        consistent_at = row[1] or doc.stop_time
        info = SourceInfo(
            Source(
                kind="backup",
                backup_id=choice.backup_id,
                lsn=row[0],
                target_time=choice.reference if choice.target.kind == "time" else None,
            ),
            snapshot_time=consistent_at,
        )
        say("sandbox ready: exporting")
        yield cluster.conninfo, info
    finally:
        sandbox.destroy()
