"""WAL coverage of the kept backups, as `pgdr repo verify` reports it.

A backup is only as good as the WAL after it: restore (``plan.check_wal``) refuses a backup
whose own WAL range is incomplete, or with a hole between its start and the newest archived
segment on the timelines it follows. Verify asks the same question of every backup, so it
never says "no problems" about a repository that restore would refuse (exit 38).
"""

from __future__ import annotations

from dataclasses import dataclass

from pgdr.catalog.load import BackupCatalog, load_backups
from pgdr.catalog.manifest import manifest_key
from pgdr.catalog.wal import list_wal, read_histories
from pgdr.errors import WalGap
from pgdr.repo.repository import Repository
from pgdr.restore.plan import Target, check_wal, choose_timeline


@dataclass(frozen=True)
class WalHole:
    object: str  # the backup's manifest key
    message: str


def wal_holes(repo: Repository, catalog: BackupCatalog | None = None) -> list[WalHole]:
    """One entry per backup that a restore to the latest point would refuse."""
    if catalog is None:
        catalog = load_backups(repo)  # unreadable manifests: verify names them itself
    # authentic, but not a usable backup: only the catalog sees that
    out = [WalHole(manifest_key(bid), why) for bid, why in sorted(catalog.unusable.items())]
    if not catalog.manifests:
        return out
    archived = list_wal(repo)
    histories = read_histories(repo, archived)
    for b in catalog.manifests:
        try:
            timeline = choose_timeline(b, histories, None)
            check_wal(b, archived, Target("latest"), timeline, histories)
        except WalGap as e:
            out.append(WalHole(manifest_key(b.id), e.message))
        except ValueError as e:  # a WAL name in the manifest that is not one
            out.append(WalHole(manifest_key(b.id), f"backup manifest: {e}"))
    return out
