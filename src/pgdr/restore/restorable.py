"""Is a backup restorable? The same answer restore would give: a backup is restorable only
when every WAL file from its start to its stop LSN is in the repository (``check_wal``, the
check restore makes before copying). `pgdr info` calls only such backups restorable and
`pgdr repo verify` reports the others as damage, naming the missing segment."""

from __future__ import annotations

from typing import Any

from pgdr.errors import WalGap
from pgdr.repo.repository import Repository
from pgdr.repo.verify import VerifyReport
from pgdr.restore.plan import Target, check_wal
from pgdr.wal.archive import list_wal


def backup_wal_problem(backup: dict[str, Any], archived: dict[int, list[str]]) -> str | None:
    """None when the backup's own WAL range (start..stop) is archived, else why not (names
    the first missing segment). Pure."""
    if not backup.get("wal"):
        return None  # a document without its WAL list is not judged here (verify reads it)
    try:  # a target at the stop LSN: check_wal looks at the backup's range and nothing after
        check_wal(backup, archived, Target("lsn", str(backup["stop_lsn"])))
    except WalGap as e:
        return e.message
    return None


def check_restorable(repo: Repository, backups: list[dict[str, Any]], report: VerifyReport) -> None:
    """Add a problem to ``report`` for every backup restore would refuse for missing WAL."""
    archived = list_wal(repo)
    for b in backups:
        report.checked["backup"] += 1
        problem = backup_wal_problem(b, archived)
        if problem is not None:
            report.add(f"manifests/backup/{b['id']}", problem)
