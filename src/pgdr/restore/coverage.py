"""WAL coverage of the kept backups, as `pgdr repo verify` reports it.

A backup is only as good as the WAL after it: restore (``plan.check_wal``) refuses a backup
whose own WAL range is incomplete, or with a hole between its start and the newest archived
segment on the timelines it follows. Verify asks the same question of every backup, so it
never says "no problems" about a repository that restore would refuse (exit 38).
"""

from __future__ import annotations

from dataclasses import dataclass

from pgdr.backup.run import repo_key, scan_backups
from pgdr.errors import WalGap
from pgdr.repo.repository import Repository
from pgdr.restore.plan import Target, check_wal, choose_timeline
from pgdr.restore.run import read_histories
from pgdr.wal.archive import list_wal


@dataclass(frozen=True)
class WalHole:
    object: str  # the backup's manifest key
    message: str


def wal_holes(repo: Repository) -> list[WalHole]:
    """One entry per backup that a restore to the latest point would refuse."""
    backups, _damaged = scan_backups(repo)  # damaged manifests: verify names them itself
    if not backups:
        return []
    archived = list_wal(repo)
    histories = read_histories(repo, archived)
    out = []
    for b in sorted(backups, key=lambda b: str(b.get("stop_time"))):
        try:
            timeline = choose_timeline(b, histories, None)
            check_wal(b, archived, Target("latest"), timeline, histories)
        except WalGap as e:
            out.append(WalHole(repo_key(str(b["id"])), e.message))
        except (KeyError, TypeError, ValueError) as e:  # authentic, but not a usable backup
            out.append(WalHole(repo_key(str(b["id"])), f"backup manifest lacks a field: {e}"))
    return out
