"""Job history: one record per run, stored in the repository as ``manifests/job/<id>``.

The repository is the source of truth; the daemon keeps an in-memory copy rebuilt from it at
start. A record is first written to a local outbox (``<state dir>/outbox/<id>.json``: temp
file, fsync, rename) and then to the repository; while the repository is unreachable it stays
in the outbox and is flushed later, so no record is lost across outages or restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgdr.catalog.manifest import BackupManifest
from pgdr.daemon.cron import slot_id
from pgdr.errors import ObjectExists, PgdrError, StorageError
from pgdr.localfs import atomic_write, private_dir
from pgdr.repo.repository import Repository

KIND = "job"
#: Backups taken by the daemon carry these annotations, so that a crash between writing the
#: backup and writing its job record cannot make the same slot run again.
ANN_JOB, ANN_SLOT = "pgdr.job", "pgdr.slot"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    slot: str  # ISO time of the scheduled slot
    started: str
    finished: str
    status: str  # success | failed
    attempts: int = 1  # attempts at this slot, this one included
    missed: int = 0  # earlier slots this run stood in for (coalesced, or missed while down)
    error: str | None = None
    error_kind: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    host: str = field(default_factory=socket.gethostname)
    reconstructed: bool = False  # rebuilt from a backup whose record was never written

    @property
    def slot_time(self) -> datetime:
        return datetime.fromisoformat(self.slot)

    @property
    def seconds(self) -> float:
        return (
            datetime.fromisoformat(self.finished) - datetime.fromisoformat(self.started)
        ).total_seconds()

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> JobRecord:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def new_record_id(kind: str, slot: datetime) -> str:
    return f"{slot_id(slot)}-{kind}-{secrets.token_hex(4)}"


class JobHistory:
    def __init__(self, outbox: Path | None) -> None:
        self.outbox = outbox
        self.records: dict[str, JobRecord] = {}
        self.loaded = False  # read from the repository at least once
        self._lock = threading.RLock()  # the scheduler's workers and the collector share it
        self._io = threading.Lock()  # one writer of outbox records to the repository
        #: (kind, slot) of runs in progress: their backup may exist before their record does.
        self._in_flight: set[tuple[str, str]] = set()

    def begin(self, kind: str, slot: str) -> None:
        with self._lock:
            self._in_flight.add((kind, slot))

    def end(self, kind: str, slot: str) -> None:
        with self._lock:
            self._in_flight.discard((kind, slot))

    # --- reading -------------------------------------------------------------------------

    def load(self, repo: Repository) -> None:
        """Read records not yet known from the repository, then the outbox."""
        for rid in repo.list_manifests(KIND):
            if rid in self.records:
                continue
            try:
                rec = JobRecord.from_doc(repo.get_manifest(KIND, rid).doc)
                with self._lock:
                    self.records[rid] = rec
            except StorageError:
                raise
            except PgdrError as e:  # a damaged record must not stop the daemon
                log.warning("job record %s unreadable: %s", rid, e.message)
        with self._lock:
            for rec in self._outbox_records():
                self.records.setdefault(rec.id, rec)
            self.loaded = True

    def all(self, kind: str | None = None) -> list[JobRecord]:
        with self._lock:
            recs = sorted(self.records.values(), key=lambda r: (r.slot, r.finished))
        return [r for r in recs if kind is None or r.kind == kind]

    def last(self, kind: str) -> JobRecord | None:
        recs = self.all(kind)
        return recs[-1] if recs else None

    def last_slot(self, kind: str) -> datetime | None:
        rec = self.last(kind)
        return rec.slot_time if rec else None

    def unsent(self) -> int:
        return len(self._outbox_files())

    # --- writing -------------------------------------------------------------------------

    def add(self, rec: JobRecord, repo: Repository | None) -> bool:
        """Keep ``rec``; True when it reached the repository (else it waits in the outbox)."""
        with self._lock:
            self.records[rec.id] = rec
            if self.outbox is not None:
                self._write_outbox(rec)
        if repo is None:
            return False
        try:
            self._put(repo, rec)
        except PgdrError as e:
            log.warning("job record %s kept in the outbox: %s", rec.id, e.message)
            return False
        return True

    def flush(self, repo: Repository) -> int:
        """Write outbox records to the repository; returns how many were written."""
        n = 0
        for path in self._outbox_files():
            try:
                rec = JobRecord.from_doc(json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # a half-written outbox file is from a crash before the job ended
            self._put(repo, rec)
            n += 1
        return n

    def reconcile(self, backups: Sequence[BackupManifest], repo: Repository | None) -> int:
        """Record runs whose backup exists but whose job record does not (a crash between
        the two writes)."""
        with self._lock:  # a running job's backup is not a crash: its record is coming
            seen = {(r.kind, r.slot) for r in self.all()} | self._in_flight
        added = 0
        for b in backups:
            kind, slot = b.annotations.get(ANN_JOB), b.annotations.get(ANN_SLOT)
            if not kind or not slot or (kind, slot) in seen:
                continue
            rec = JobRecord(
                id=new_record_id(kind, datetime.fromisoformat(slot)),
                kind=kind,
                slot=slot,
                started=b.start_time.isoformat(),
                finished=b.stop_time.isoformat(),
                status="success",
                result={"backup_id": b.id},
                reconstructed=True,
            )
            self.add(rec, repo)
            seen.add((kind, slot))
            added += 1
        return added

    def _put(self, repo: Repository, rec: JobRecord) -> None:
        with self._io:
            path = self.outbox / f"{rec.id}.json" if self.outbox is not None else None
            if path is not None and not path.exists():
                return  # another thread flushed it already: never write a record twice
            with contextlib.suppress(ObjectExists):  # an earlier flush stored it already
                repo.put_manifest(KIND, rec.id, asdict(rec))
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _outbox_files(self) -> list[Path]:
        if self.outbox is None or not self.outbox.is_dir():
            return []
        return sorted(self.outbox.glob("*.json"))

    def _outbox_records(self) -> list[JobRecord]:
        out = []
        for p in self._outbox_files():
            with contextlib.suppress(OSError, ValueError, TypeError):
                out.append(JobRecord.from_doc(json.loads(p.read_text())))
        return out

    def _write_outbox(self, rec: JobRecord) -> None:
        assert self.outbox is not None
        private_dir(self.outbox)
        atomic_write(self.outbox / f"{rec.id}.json", json.dumps(asdict(rec)))


def utcnow() -> datetime:
    return datetime.now(UTC)
