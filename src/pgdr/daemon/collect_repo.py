"""Repository facts for the snapshot: reachable?, backups, recoverable window, WAL per
timeline, bytes by kind, job history. Manifests and timeline history files are immutable, so
backup documents are read once and cached (without their file lists), and so are the parsed
history files; each collection lists the repository once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from pgdr.catalog.load import read_backup
from pgdr.catalog.manifest import KIND as BACKUP_KIND
from pgdr.catalog.manifest import BackupManifest, ManifestError
from pgdr.catalog.wal import HistoryCache, WalCatalog
from pgdr.daemon.facts import BackupFact, DrillFact, ReplicaFact, RepoFacts
from pgdr.daemon.handle import RepoHandle
from pgdr.daemon.history import ANN_JOB, JobHistory
from pgdr.drill.record import KIND as DRILL_KIND
from pgdr.drill.record import DrillRecord
from pgdr.errors import PgdrError, StorageError
from pgdr.pg.wal import is_segment, parse_segment_name
from pgdr.replicate.follow import ReplicaLink
from pgdr.replicate.plan import replica_lag
from pgdr.repo import format as fmt
from pgdr.repo.repository import Repository
from pgdr.restore.info import repository_info
from pgdr.storage.base import ObjectInfo

BACKUP_PREFIX = fmt.manifest_key(BACKUP_KIND, "")
DRILL_PREFIX = fmt.manifest_key(DRILL_KIND, "")
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
        self._docs: dict[str, BackupManifest] = {}
        self._drills: dict[str, DrillFact] = {}
        self._histories = HistoryCache()

    def collect(self) -> RepoFacts:
        try:
            with self.handle.use() as repo:
                return self._collect(repo)
        except PgdrError as e:
            return RepoFacts(self.url, up=False, error=e.message, jobs=self.history.all())

    def backup_docs(self) -> list[BackupManifest]:
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
                manifest, _stored = read_backup(repo, bid)
            except StorageError:
                raise
            except PgdrError as e:  # damaged: verify reports it; the rest still counts
                log.warning("backup manifest %s unreadable: %s", bid, e.message)
                continue
            except ManifestError as e:
                log.warning("%s", e)
                continue
            self._docs[bid] = manifest.without_contents()
        self._load_drills(
            repo, {o.key[len(DRILL_PREFIX) :] for o in objects if o.key.startswith(DRILL_PREFIX)}
        )
        wal_objects = [o for o in objects if o.key.startswith(fmt.WAL_PREFIX)]
        info = repository_info(
            repo, backups=self.backup_docs(), wal_objects=wal_objects, histories=self._histories
        )
        wal_newest: dict[int, int] = {}
        newest_time: datetime | None = None
        for tli, files in WalCatalog.from_listing(wal_objects).stored.items():
            for name, when in files.items():
                if not is_segment(name):
                    continue
                seg = parse_segment_name(name, self._segment_size())[1]
                if seg > wal_newest.get(tli, -1):
                    wal_newest[tli] = seg
                if when is not None and (newest_time is None or when > newest_time):
                    newest_time = when
        self.history.load(repo)
        if self.maintain:
            self.history.flush(repo)
            self.history.reconcile(self.backup_docs(), repo)
        return RepoFacts(
            repo_id=repo.config.repo_id,
            replicas=[self._replica(r, objects) for r in self.replicas],
            url=self.url,
            up=True,
            backups=[_backup_fact(b) for b in sorted(self._docs.values(), key=_stop)],
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
                rec = DrillRecord.from_doc(repo.get_manifest(DRILL_KIND, did).doc)
                when = datetime.fromisoformat(rec.finished or rec.started)
            except StorageError:
                raise
            except PgdrError as e:
                log.warning("drill record %s unreadable: %s", did, e.message)
                continue
            except (TypeError, ValueError) as e:  # not a drill record pgdr wrote
                log.warning("drill record %s unusable: %s", did, e)
                continue
            if rec.result in (None, "running"):
                continue
            self._drills[did] = DrillFact(
                id=did,
                time=when,
                passed=rec.result != "failed",
                status=str(rec.result),
                seconds=rec.total_seconds,
                rto_s=rec.rto_seconds,
                rpo_s=rec.rpo_seconds,
                message=rec.message,
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
            return d.wal_segment_size
        return 16 << 20


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def _stop(m: BackupManifest) -> datetime:
    return m.stop_time


def _backup_fact(m: BackupManifest) -> BackupFact:
    return BackupFact(
        id=m.id,
        type=m.type,
        start_time=m.start_time,
        stop_time=m.stop_time,
        bytes=m.stats.bytes,
        stored_bytes=m.stats.stored_bytes,
        new_bytes=m.stats.new_bytes,
        timeline=m.timeline,
        scheduled=ANN_JOB in m.annotations,
    )
