"""Reading what the retention policy decides over, through the catalog: backups (their
manifests), every WAL object with the time it was stored, and the timeline history files."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgdr.catalog.load import load_backups
from pgdr.catalog.manifest import BackupManifest
from pgdr.catalog.wal import list_wal_catalog, read_histories
from pgdr.pg.timeline import TimelineSwitch
from pgdr.repo.repository import Repository
from pgdr.retention.policy import BackupFacts, WalFile


@dataclass
class Facts:
    backups: list[BackupFacts]
    wal: list[WalFile]
    histories: dict[int, list[TimelineSwitch]]
    manifests: dict[str, BackupManifest] = field(default_factory=dict)
    #: Backup manifests that could not be read: neither kept nor removed by this run.
    unreadable: list[str] = field(default_factory=list)


def backup_facts(m: BackupManifest) -> BackupFacts:
    return BackupFacts(
        m.id, m.type, m.stop_time, m.start_lsn, m.timeline, m.wal_segment_size, m.wal
    )


def gather(repo: Repository) -> Facts:
    catalog = load_backups(repo, refs_budget=0)  # retention never reads blocks
    wal = list_wal_catalog(repo)
    return Facts(
        [backup_facts(m) for m in catalog.manifests],
        [WalFile(t, name, when) for t, names in wal.stored.items() for name, when in names.items()],
        read_histories(repo, wal.archived, strict=True),
        {m.id: m for m in catalog.manifests},
        sorted(catalog.damaged),
    )
