"""Taking a base backup: start, copy PGDATA into the repository, stop, wait for the WAL,
write the manifest. The backup exists only once its manifest is written, and the manifest
is written only once every WAL file from start to stop LSN is in the repository."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgdr import audit
from pgdr.backup import basis
from pgdr.backup.checksums import PageChecker
from pgdr.backup.chunking import DEFAULT, Chunking, is_relation_path
from pgdr.backup.session import BackupSession
from pgdr.backup.walk import Entry, walk
from pgdr.catalog import manifest as m
from pgdr.catalog.manifest import KIND
from pgdr.catalog.wal import wal_key
from pgdr.errors import WalMissing
from pgdr.pg.wal import format_lsn, segment_name, segments_between
from pgdr.repo.locks import LockManager
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.wal import cluster

log = logging.getLogger(__name__)
_RELFILE = re.compile(r"^\d+(_(fsm|vm|init))?(\.\d+)?$")
Progress = Callable[[int, int], None]


@dataclass
class BackupResult:
    backup_id: str
    type: str
    label: str
    start_lsn: str
    stop_lsn: str
    timeline: int
    #: Regular files copied (directories, links and files dropped during the copy are not
    #: counted): the manifest's ``stats.files``, what ``pgdr info`` shows.
    files: int
    bytes: int
    new_bytes: int
    stored_bytes: int
    #: From the backup's start to pg_backup_stop (the manifest's stop_time - start_time,
    #: what ``pgdr info`` shows).
    seconds: float
    page_checksum_errors: list[dict[str, Any]]
    #: Other backups that held their lock while this one started (each is stored under its
    #: own id; concurrent backups are allowed, never merged).
    concurrent: list[str] = field(default_factory=list)
    start_time: str = ""
    stop_time: str = ""
    #: The whole run: connecting, the copy, waiting for the backup's WAL, the manifest.
    total_seconds: float = 0.0
    #: The type asked for; differs from ``type`` when an incremental had no full before it.
    requested_type: str = ""
    #: Why ``type`` is not ``requested_type`` (pgdr.backup.basis.NO_FULL), else None.
    note: str | None = None


def backup_id(when: datetime, backup_type: str, suffix: str | None = None) -> str:
    """``<UTC start>F|I-<6 hex>``: readable and sortable by start second, and unique — two
    backups started in the same second get different ids (the manifest put then also
    refuses a taken name, so a collision can never replace a stored backup)."""
    tag = suffix if suffix is not None else secrets.token_hex(3)
    return when.strftime("%Y%m%dT%H%M%SZ") + ("F" if backup_type == "full" else "I") + "-" + tag


def take_backup(
    repo: Repository | Future[Repository],
    conninfo: str,
    *,
    backup_type: str = "full",
    label: str = "",
    annotations: dict[str, str] | None = None,
    data_dir: Path | None = None,
    wal_timeout: float = 300.0,
    progress: Progress | None = None,
    chunking: Chunking = DEFAULT,
) -> BackupResult:
    """``chunking``: how files are cut into blobs (recorded per file in the manifest).
    ``repo`` may still be opening (``pgdr.cli.repo_target.open_repository_soon``): a
    passphrase's KDF then runs beside the catalog snapshot, which needs no key."""
    t0 = time.monotonic()
    try:
        session = BackupSession(conninfo)
    except BaseException:
        if isinstance(repo, Future):
            repo.result()  # a repository that cannot be opened is named first
        raise
    try:
        facts = session.facts()
        started = datetime.now(UTC)
        # Before pg_backup_start, never beside the copy: the snapshot counts rows (count(*) of
        # tables up to 20 M rows), which sets hint bits; after the backup's checkpoint every
        # page's first hint bit is WAL-logged as a full-page image (data checksums), so a
        # concurrent count filled the backup's WAL range with hundreds of MB (measured: 27
        # segments for pgbench scale 50 right after pgbench) that the backup then waits for
        # and every restore replays.
        catalog = session.catalog()
        phases = {"catalog": time.monotonic() - t0}
        if isinstance(repo, Future):
            t = time.monotonic()
            repo = repo.result()
            phases["unlock wait"] = time.monotonic() - t
        # another cluster's backup would restore next to this repository's WAL: refuse it
        cluster.ensure(repo, facts.system_identifier, facts.wal_segment_size, "backup")
        pgdata = data_dir or facts.data_dir
        requested = backup_type
        backup_type = basis.backup_type(repo, requested, facts.system_identifier, facts.timeline)
        bid = backup_id(started, backup_type)
        label = label or f"pgdr {bid}"
        locks = LockManager(repo.backend)
        with locks.acquire("shared", "backup") as lock, BlobWriter(repo) as w:
            concurrent = [
                i.describe()
                for i in locks.list_locks()
                if i.purpose == "backup" and not i.stale and i.id != lock.id
            ]
            t = time.monotonic()
            start_lsn, tli = session.start(label)
            phases["start"] = time.monotonic() - t
            t = time.monotonic()
            stopped = False
            try:
                entries = list(walk(pgdata))
                total = sum(e.size for e in entries)
                refs = bytearray()
                files: list[dict[str, Any]] = []
                bad_pages: list[dict[str, Any]] = []
                verify_from = start_lsn if facts.data_checksums else None
                done = 0
                for e in entries:
                    files.append(_store_entry(w, pgdata, e, refs, verify_from, bad_pages, chunking))
                    done += e.size
                    if progress:
                        progress(done, total)
                phases["copy"] = time.monotonic() - t
                t = time.monotonic()
                stop = session.stop()
                stopped = True
                phases["stop"] = time.monotonic() - t
            finally:
                if not stopped:
                    session.abort()
            stop_time = datetime.now(UTC)
            wal = [
                segment_name(tli, s, facts.wal_segment_size)
                for s in segments_between(start_lsn, stop.stop_lsn, facts.wal_segment_size)
            ]
            t = time.monotonic()
            _wait_for_wal(repo, wal, wal_timeout)
            phases["wal wait"] = time.monotonic() - t
            t = time.monotonic()
            lock.check()
            w.flush()  # so that stats.stored_bytes below counts the last pack too
            copied = sum(1 for f in files if f[m.F_KIND] == "file")
            doc = {
                m.ID: bid,
                m.TYPE: backup_type,
                m.LABEL: label,
                m.ANNOTATIONS: annotations or {},
                m.START_TIME: started.isoformat(),
                m.STOP_TIME: stop_time.isoformat(),
                m.START_LSN: format_lsn(start_lsn),
                m.STOP_LSN: format_lsn(stop.stop_lsn),
                m.TIMELINE: tli,
                m.WAL_SEGMENT_SIZE: facts.wal_segment_size,
                m.WAL: wal,
                m.SYSTEM_IDENTIFIER: facts.system_identifier,
                m.PG_VERSION_NUM: facts.version_num,
                m.DATA_DIR: str(pgdata),
                m.DATABASES: facts.databases,
                m.DATABASE_OIDS: facts.database_oids,
                m.BACKUP_LABEL: stop.backup_label,
                m.TABLESPACE_MAP: stop.tablespace_map,
                m.FILES: files,
                m.CATALOG: catalog.to_doc(),
                m.PAGE_CHECKSUM_ERRORS: bad_pages,
                m.DATA_CHECKSUMS: facts.data_checksums,
                m.STATS: {
                    m.STAT_BYTES: w.stats.bytes_raw,
                    m.STAT_NEW_BYTES: w.stats.bytes_new_raw,
                    m.STAT_STORED_BYTES: w.stats.bytes_stored,
                    m.STAT_FILES: copied,
                },
            }
            w.commit_manifest(KIND, bid, doc, refs)
            phases["manifest"] = time.monotonic() - t
            log.info("backup %s: %s", bid, ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
            stats = w.stats
            audit.record(
                repo,
                "backup",
                {
                    "id": bid,
                    "type": backup_type,
                    "label": label,
                    "files": copied,
                    "bytes": stats.bytes_raw,
                    "stored_bytes": stats.bytes_stored,
                    "start_lsn": format_lsn(start_lsn),
                    "stop_lsn": format_lsn(stop.stop_lsn),
                    "timeline": tli,
                },
            )
    finally:
        session.close()
    return BackupResult(
        bid,
        backup_type,
        label,
        format_lsn(start_lsn),
        format_lsn(stop.stop_lsn),
        tli,
        copied,
        stats.bytes_raw,
        stats.bytes_new_raw,
        stats.bytes_stored,
        (stop_time - started).total_seconds(),
        bad_pages,
        concurrent,
        started.isoformat(),
        stop_time.isoformat(),
        time.monotonic() - t0,
        requested,
        basis.NO_FULL if backup_type != requested else None,
    )


def _store_entry(
    w: BlobWriter,
    pgdata: Path,
    e: Entry,
    refs: bytearray,
    start_lsn: int | None,
    bad_pages: list[dict[str, Any]],
    chunking: Chunking,
) -> dict[str, Any]:
    item: dict[str, Any] = {m.F_PATH: e.rel, m.F_KIND: e.kind, m.F_MODE: e.mode, m.F_MTIME: e.mtime}
    if e.kind == "link":
        item[m.F_TARGET] = e.target
    elif e.kind == "file":
        start = len(refs) // 32
        name = e.rel.rsplit("/", 1)[-1]
        checker = None
        chunk = chunking.chunk_for(e.rel)
        if start_lsn is not None and is_relation_path(e.rel) and _RELFILE.match(name):
            checker = PageChecker(str(pgdata / e.rel), name, start_lsn)
        try:
            stored = w.store_file(pgdata / e.rel, chunk, checker)
        except FileNotFoundError:
            stored = None  # dropped during the backup: WAL replay recreates or removes it
        if checker is not None and checker.bad_blocks:
            bad_pages.append({"file": e.rel, "blocks": sorted(checker.bad_blocks)})
        if stored is None:
            item.update({m.F_KIND: "gone", m.F_SIZE: 0})
        else:
            refs += stored.ids
            item.update(
                {
                    m.F_SIZE: stored.size,
                    m.F_REFS: [start, len(stored.ids) // 32],
                    m.F_CHUNK: chunk,
                }
            )
    return item


def _wait_for_wal(repo: Repository, names: list[str], timeout: float) -> None:
    """The backup counts only once every WAL file from start to stop is archived."""
    deadline = time.monotonic() + timeout
    missing = names
    pause = 0.02
    while True:
        missing = [n for n in missing if repo.backend.stat(wal_key(n)) is None]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise WalMissing(
                f"backup is not usable: WAL {missing[0]} (and {len(missing) - 1} more) did not "
                f"reach the repository within {timeout:.0f} s",
                hint="check archive_command (pgdr setup / pgdr check)",
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
