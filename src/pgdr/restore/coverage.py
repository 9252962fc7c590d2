"""WAL coverage of the kept backups, as `pgdr repo verify` (and the daemon's verify job)
reports it.

A backup is only as good as the WAL after it: restore (``plan.check_wal``) refuses a backup
whose own WAL range is incomplete, or with a hole between its start and the newest archived
segment on the timelines it follows. Verify asks the same question of every backup, so it
never says "no problems" about a repository that restore would refuse (exit 38). One pass:
the WAL is listed once and the timeline histories read once per verify.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgdr.catalog.load import BackupCatalog, load_backups
from pgdr.catalog.manifest import BackupManifest, manifest_key
from pgdr.catalog.wal import Timelines, WalCatalog, list_wal_catalog, read_histories
from pgdr.errors import WalGap
from pgdr.repo.repository import Repository
from pgdr.repo.verify import VerifyReport
from pgdr.restore.plan import Target, check_wal, choose_timeline
from pgdr.restore.restorable import backup_wal_problem


@dataclass(frozen=True)
class WalHole:
    object: str  # the backup's manifest key
    message: str


def wal_holes(
    repo: Repository, catalog: BackupCatalog | None = None, wal: WalCatalog | None = None
) -> list[WalHole]:
    """One entry per backup that a restore to the latest point would refuse (naming its own
    missing WAL first, else the hole after it), and one per authentic object that is not a
    usable backup manifest. ``wal``: the WAL listing already made (else it is listed)."""
    if catalog is None:
        catalog = load_backups(repo)  # unreadable manifests: verify names them itself
    # authentic, but not a usable backup: only the catalog sees that
    out = [WalHole(manifest_key(bid), why) for bid, why in sorted(catalog.unusable.items())]
    if not catalog.manifests:
        return out
    archived = (wal if wal is not None else list_wal_catalog(repo)).archived
    histories = read_histories(repo, archived)
    for b in catalog.manifests:
        problem = _problem(b, archived, histories)
        if problem is not None:
            out.append(WalHole(manifest_key(b.id), problem))
    return out


def check_coverage(repo: Repository, catalog: BackupCatalog, report: VerifyReport) -> None:
    """Add every ``wal_holes`` entry to ``report`` as a problem, counting the backups checked
    (over the WAL listing verify made, when it made one, and a fresh one if that shows
    holes)."""
    listing = report.wal_listing
    wal = WalCatalog.from_listing(listing) if listing is not None else None
    report.checked["backup"] += len(catalog.manifests)
    holes = wal_holes(repo, catalog, wal)
    if holes and wal is not None:
        # A backup that finished after verify listed the WAL (a scheduled backup during a
        # verify) had its WAL archived after that listing: judge again over a fresh one. A
        # real hole is still there; a race is not reported as damage.
        holes = wal_holes(repo, catalog, None)
    for hole in holes:
        report.add(hole.object, hole.message)


def _problem(b: BackupManifest, archived: dict[int, list[str]], histories: Timelines) -> str | None:
    if not b.wal:
        return None  # a document without its WAL list is not judged here (verify reads it)
    try:
        own = backup_wal_problem(b, archived)  # its own range first: the segment to name
        if own is not None:
            return own
        check_wal(b, archived, Target("latest"), choose_timeline(b, histories, None), histories)
    except WalGap as e:
        return e.message
    except ValueError as e:  # a WAL name in the manifest that is not one
        return f"backup manifest: {e}"
    return None
