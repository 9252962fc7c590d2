"""Repository facts for the snapshot: reachable?, backups, recoverable window, WAL per
timeline, bytes by kind, job history. Manifests are immutable, so backup documents are read
once and cached (without their file lists); each collection lists the repository once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pgdr.daemon.facts import BackupFact, DrillFact, ReplicaFact, RepoFacts
from pgdr.daemon.handle import RepoHandle
from pgdr.daemon.history import JobHistory
from pgdr.errors import PgdrError, StorageError
from pgdr.pg.wal import is_segment, parse_segment_name
from pgdr.replicate.follow import ReplicaLink
from pgdr.replicate.plan import replica_lag
from pgdr.repo import format as fmt
from pgdr.repo.repository import Repository
from pgdr.restore.info import repository_info
from pgdr.storage.base import ObjectInfo

BACKUP_PREFIX = fmt.manifest_key("backup", "")
DRILL_PREFIX = fmt.manifest_key("drill", "")
log = logging.getLogger(__name__)


class RepoCollector:
    def __init__(
        self,
        handle: RepoHandle,
        history: JobHistory,
        url: str,
        *,
        maintain: bool = True,
        replicas: list[ReplicaLink] | None = None,
    ) -> None:
        self.replicas = replicas or []
        self.handle = handle
        self.history = history
        self.url = url
        #: The daemon also flushes its record outbox and reconciles records with backups;
        #: `pgdr status` only reads.
        self.maintain = maintain
        self._docs: dict[str, dict[str, Any]] = {}
        self._drills: dict[str, DrillFact] = {}

    def collect(self) -> RepoFacts:
        try:
            with self.handle.use() as repo:
                return self._collect(repo)
        except PgdrError as e:
            return RepoFacts(self.url, up=False, error=e.message, jobs=self.history.all())

    def backup_docs(self) -> list[dict[str, Any]]:
        return list(self._docs.values())

    def _collect(self, repo: Repository) -> RepoFacts:
        Repository.read_config(repo.backend)  # still there, still a repository
        objects = list(repo.backend.list())
        sizes: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for o in objects:
            top = o.key.split("/", 1)[0]
            sizes[top] += o.size
            counts[top] += 1
        listed = {o.key[len(BACKUP_PREFIX) :] for o in objects if o.key.startswith(BACKUP_PREFIX)}
        for gone in set(self._docs) - listed:
            del self._docs[gone]
        for bid in sorted(listed - set(self._docs)):
            try:
                doc = repo.get_manifest("backup", bid).doc
            except StorageError:
                raise
            except PgdrError as e:  # damaged: verify reports it; the rest still counts
                log.warning("backup manifest %s unreadable: %s", bid, e.message)
                continue
            self._docs[bid] = {k: v for k, v in doc.items() if k not in ("files", "catalog")}
        self._load_drills(
            repo, {o.key[len(DRILL_PREFIX) :] for o in objects if o.key.startswith(DRILL_PREFIX)}
        )
        wal_objects = [o for o in objects if o.key.startswith(fmt.WAL_PREFIX)]
        info = repository_info(repo, backups=self.backup_docs(), wal_objects=wal_objects)
        wal_newest: dict[int, int] = {}
        newest_time: datetime | None = None
        for o in wal_objects:
            _p, tli_hex, name = o.key.split("/", 2)
            if not is_segment(name):
                continue
            tli = int(tli_hex, 16)
            seg = parse_segment_name(name, self._segment_size())[1]
            if seg > wal_newest.get(tli, -1):
                wal_newest[tli] = seg
            if o.modified is not None and (newest_time is None or o.modified > newest_time):
                newest_time = o.modified
        self.history.load(repo)
        if self.maintain:
            self.history.flush(repo)
            self.history.reconcile(self.backup_docs(), repo)
        return RepoFacts(
            repo_id=repo.config.repo_id,
            replicas=[self._replica(r, objects) for r in self.replicas],
            url=self.url,
            up=True,
            backups=[_backup_fact(b) for b in info.backups],
            window_start=_dt(info.window_start),
            window_end=_dt(info.window_end),
            production_timeline=info.production_timeline,
            bytes_by_kind=dict(sizes),
            objects_by_kind=dict(counts),
            wal_newest=wal_newest,
            wal_newest_time=newest_time,
            wal_gaps=sum(len(w.gaps) for w in info.wal),
            jobs=self.history.all(),
            drills=[self._drills[k] for k in sorted(self._drills)],
        )

    def _load_drills(self, repo: Repository, listed: set[str]) -> None:
        for gone in set(self._drills) - listed:
            del self._drills[gone]
        for did in sorted(listed - set(self._drills)):
            try:
                doc = repo.get_manifest("drill", did).doc
            except StorageError:
                raise
            except PgdrError as e:
                log.warning("drill record %s unreadable: %s", did, e.message)
                continue
            if doc.get("result") in (None, "running"):
                continue
            self._drills[did] = DrillFact(
                id=did,
                time=datetime.fromisoformat(doc.get("finished") or doc["started"]),
                passed=doc["result"] != "failed",
                status=str(doc["result"]),
                seconds=doc.get("total_seconds"),
                rto_s=doc.get("rto_seconds"),
                rpo_s=doc.get("rpo_seconds"),
            )

    def _replica(self, link: ReplicaLink, objects: list[ObjectInfo]) -> ReplicaFact:
        """How far a replica is behind: both listings compared (no key needed)."""
        try:
            lag = replica_lag(objects, link.backend.list(), datetime.now(UTC))
        except PgdrError as e:
            return ReplicaFact(link.name, up=False, error=e.message)
        return ReplicaFact(
            link.name,
            up=True,
            initialized=lag.initialized,
            objects_behind=lag.objects_behind,
            bytes_behind=lag.bytes_behind,
            seconds_behind=lag.seconds_behind,
        )

    def _segment_size(self) -> int:
        for d in self._docs.values():
            return int(d.get("wal_segment_size", 16 << 20))
        return 16 << 20


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def _backup_fact(row: dict[str, Any]) -> BackupFact:
    return BackupFact(
        id=row["id"],
        type=row["type"],
        start_time=datetime.fromisoformat(row["start_time"]),
        stop_time=datetime.fromisoformat(row["stop_time"]),
        bytes=int(row["bytes"]),
        stored_bytes=int(row["stored_bytes"]),
        new_bytes=int(row["new_bytes"]),
        timeline=int(row["timeline"]),
    )
