"""Reading what the retention policy decides over: backups (from their manifests), every WAL
object with the time it was stored, and the timeline history files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pgdr.backup.run import KIND
from pgdr.errors import ObjectNotFound, PgdrError
from pgdr.pg.timeline import TimelineSwitch, parse_history
from pgdr.pg.wal import DEFAULT_SEG_SIZE, is_history, parse_lsn, timeline_of_history
from pgdr.repo.format import WAL_PREFIX
from pgdr.repo.repository import Repository
from pgdr.retention.policy import BackupFacts, WalFile
from pgdr.wal.archive import read as read_wal


@dataclass
class Facts:
    backups: list[BackupFacts]
    wal: list[WalFile]
    histories: dict[int, list[TimelineSwitch]]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Backup manifests that could not be read: neither kept nor removed by this run.
    unreadable: list[str] = field(default_factory=list)


def backup_facts(doc: dict[str, Any]) -> BackupFacts:
    stop = datetime.fromisoformat(doc["stop_time"])
    return BackupFacts(
        doc["id"],
        doc["type"],
        stop if stop.tzinfo else stop.replace(tzinfo=UTC),
        parse_lsn(doc["start_lsn"]),
        int(doc["timeline"]),
        int(doc.get("wal_segment_size", DEFAULT_SEG_SIZE)),
        tuple(str(name) for name in doc.get("wal", [])),
    )


def gather(repo: Repository) -> Facts:
    facts = Facts([], [], {})
    for bid in repo.list_manifests(KIND):
        try:
            doc = repo.get_manifest(KIND, bid).doc
        except ObjectNotFound:
            continue
        except PgdrError:
            facts.unreadable.append(bid)
            continue
        facts.docs[bid] = doc
        facts.backups.append(backup_facts(doc))
    for info in repo.backend.list(WAL_PREFIX):
        _prefix, tli, name = info.key.split("/", 2)
        facts.wal.append(WalFile(int(tli, 16), name, info.modified))
        if is_history(name):
            text = read_wal(repo, name).decode("utf-8", "replace")
            facts.histories[timeline_of_history(name)] = parse_history(text)
    return facts
