"""The one loader of backup manifests: lists ``manifests/backup/`` and reads each manifest
once per command, returning the typed manifests and the damaged ones by id (fail-safe: a
damaged manifest is named, never taken for "no backups").

The stored manifests' block reference tables (32 bytes per stored chunk) are kept for the
restore that follows, up to ``REFS_BUDGET`` bytes in all; beyond that, the one backup a
restore chose is read again rather than holding every backup's table in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgdr.catalog.manifest import KIND, BackupManifest, ManifestError, manifest_key
from pgdr.errors import IntegrityError, ObjectNotFound, PgdrError
from pgdr.repo.repository import Manifest, Repository

REFS_BUDGET = 256 << 20


@dataclass
class BackupCatalog:
    #: Readable backups, oldest stop time first.
    manifests: list[BackupManifest]
    #: Backups whose manifest cannot be read or is not a backup manifest: {id: why}.
    damaged: dict[str, str] = field(default_factory=dict)
    #: Of ``damaged``: authentic objects that are not usable backup manifests (a verify of
    #: the objects alone does not see those).
    unusable: dict[str, str] = field(default_factory=dict)
    _stored: dict[str, Manifest] = field(default_factory=dict, repr=False)

    def find(self, backup_id: str) -> BackupManifest | None:
        return next((m for m in self.manifests if m.id == backup_id), None)

    def stored(self, repo: Repository, backup_id: str) -> Manifest:
        """The stored manifest (with its block references) a restore materializes."""
        kept = self._stored.get(backup_id)
        if kept is not None:
            return kept
        try:
            return read_backup(repo, backup_id)[1]
        except ManifestError as e:
            raise IntegrityError(f"{e} (changed since it was read)") from None


def read_backup(repo: Repository, backup_id: str) -> tuple[BackupManifest, Manifest]:
    """One backup manifest, parsed, and the stored object it came from. Raises what
    ``get_manifest`` raises (ObjectNotFound, IntegrityError, StorageError...) or
    ManifestError for an authentic object that is not a usable backup manifest."""
    stored = repo.get_manifest(KIND, backup_id)
    return parse_backup(backup_id, stored), stored


def parse_backup(backup_id: str, stored: Manifest) -> BackupManifest:
    """A stored backup manifest parsed; ManifestError naming its key when unusable."""
    try:
        return BackupManifest.from_doc(stored.doc, backup_id)
    except ManifestError as e:
        raise ManifestError(f"{manifest_key(backup_id)}: {e}") from None


class CatalogBuilder:
    """A catalog from stored manifests as they are read — by ``load_backups``, or by a verify
    that reads every manifest anyway (``pgdr.repo.verify``'s ``seen``): each is parsed here
    once, and its reference table kept only within ``refs_budget`` (0: none, as for a verify
    that no restore follows)."""

    def __init__(self, refs_budget: int = REFS_BUDGET) -> None:
        self.catalog = BackupCatalog([])
        self._budget = refs_budget
        self._kept = 0

    def add(self, bid: str, stored: Manifest) -> None:
        try:
            manifest = parse_backup(bid, stored)
        except ManifestError as e:
            self.catalog.damaged[bid] = self.catalog.unusable[bid] = str(e)
            return
        self.catalog.manifests.append(manifest)
        if self._kept + len(stored.refs) <= self._budget:
            self.catalog._stored[bid] = stored
            self._kept += len(stored.refs)

    def seen(self, kind: str, mid: str, stored: Manifest) -> None:
        """The ``seen`` callback of ``pgdr.repo.verify.verify``: backup manifests only."""
        if kind == KIND:
            self.add(mid, stored)

    def done(self) -> BackupCatalog:
        self.catalog.manifests.sort(key=lambda m: m.stop_time)
        return self.catalog


def load_backups(repo: Repository, refs_budget: int = REFS_BUDGET) -> BackupCatalog:
    out = CatalogBuilder(refs_budget)
    for bid in repo.list_manifests(KIND):
        try:
            stored = repo.get_manifest(KIND, bid)
        except ObjectNotFound:
            continue  # deleted since the listing (expire)
        except PgdrError as e:
            out.catalog.damaged[bid] = e.message
            continue
        out.add(bid, stored)
    return out.done()
