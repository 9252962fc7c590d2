"""Is a backup restorable? The same answer restore would give: a backup is restorable only
when every WAL file from its start to its stop LSN is in the repository (``check_wal``, the
check restore makes before copying). `pgdr info` calls only such backups restorable and
`pgdr repo verify` reports the others as damage, naming the missing segment
(``pgdr.restore.coverage``)."""

from __future__ import annotations

from pgdr.catalog.manifest import BackupManifest
from pgdr.errors import WalGap
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
