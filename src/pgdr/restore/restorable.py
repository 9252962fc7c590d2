"""Is a backup restorable? The same answer restore would give: a backup is restorable only
when every WAL file from its start to its stop LSN is in the repository (``check_wal``, the
check restore makes before copying). `pgdr info` calls only such backups restorable and
`pgdr repo verify` reports the others as damage, naming the missing segment."""

from __future__ import annotations

from collections.abc import Sequence

from pgdr.catalog.manifest import BackupManifest, manifest_key
from pgdr.catalog.wal import list_wal
from pgdr.errors import WalGap
from pgdr.repo.repository import Repository
from pgdr.repo.verify import VerifyReport
from pgdr.restore.plan import Target, check_wal


def backup_wal_problem(backup: BackupManifest, archived: dict[int, list[str]]) -> str | None:
    """None when the backup's own WAL range (start..stop) is archived, else why not (names
    the first missing segment). Pure."""
    if not backup.wal:
        return None  # a document without its WAL list is not judged here (verify reads it)
    try:  # a target at the stop LSN: check_wal looks at the backup's range and nothing after
        check_wal(backup, archived, Target("lsn", backup.stop_lsn_text))
    except WalGap as e:
        return e.message
    return None


def check_restorable(
    repo: Repository, backups: Sequence[BackupManifest], report: VerifyReport
) -> None:
    """Add a problem to ``report`` for every backup restore would refuse for missing WAL."""
    archived = list_wal(repo)
    for b in backups:
        report.checked["backup"] += 1
        problem = backup_wal_problem(b, archived)
        if problem is not None:
            report.add(manifest_key(b.id), problem)
