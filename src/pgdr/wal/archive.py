"""Pushing and fetching WAL files (segments, .partial, .history, .backup).

Each WAL file is one object ``wal/<timeline, 8 hex>/<file name>``, sealed (zstd, AES-256-GCM)
with its object key as context, so a file can never be served under another name. A push
returns only after the object is durable; PostgreSQL recycles the segment only then.
Pushing a file that is already stored with identical content succeeds (archive_command is
retried after crashes); with different content it fails loudly and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import blake3

from pgdr.catalog.wal import check_wal_name, read, wal_key
from pgdr.errors import ObjectNotFound, UsageError, WalConflict
from pgdr.localfs import atomic_write
from pgdr.pg.wal import is_partial, is_segment
from pgdr.pg.wal_header import BadWalFile, check_segment
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.wal import cluster


@dataclass(frozen=True)
class PushResult:
    name: str
    status: str  # "stored" | "already-stored"
    bytes: int
    stored_bytes: int


def push(repo: Repository, path: Path) -> PushResult:
    """Store one WAL file. A segment (or ``.partial``) must be what its name says — full
    size, a long page header at its own start LSN — and come from the repository's cluster
    (``xlp_sysid``, checked against ``pgdr.wal.cluster``; the first push records it)."""
    name = check_wal_name(path.name)
    key = wal_key(name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such WAL file") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    if is_segment(name) or is_partial(name):
        _check_cluster(repo, name, data)
    if repo.backend.stat(key) is not None:
        stored = read(repo, name)
        if blake3.blake3(stored).digest() != blake3.blake3(data).digest():
            raise WalConflict(
                f"WAL file {name} is already archived with different content; refusing to "
                "overwrite it (is another cluster archiving into this repository?)"
            )
        return PushResult(name, "already-stored", len(data), 0)
    sealed = repo.sealer.seal(ObjectType.WAL, data, key.encode())
    repo.backend.put(key, sealed)
    return PushResult(name, "stored", len(data), len(sealed))


def _check_cluster(repo: Repository, name: str, data: bytes) -> None:
    header = check_segment(name, data, len(data))
    ident = cluster.ensure(repo, header.system_identifier, header.seg_size, "wal-push")
    if ident.wal_segment_size is not None and ident.wal_segment_size != header.seg_size:
        raise BadWalFile(
            f"{name}: {header.seg_size}-byte segment, but this repository's cluster writes "
            f"{ident.wal_segment_size}-byte segments"
        )


def fetch(repo: Repository, name: str, dest: Path) -> bool:
    """Write WAL file ``name`` to ``dest`` (atomically, durably). False when it is not
    archived."""
    try:
        data = read(repo, name)
    except ObjectNotFound:
        return False
    try:
        atomic_write(dest, data)
    except OSError as e:
        raise UsageError(f"cannot write {dest}: {e.strerror}") from None
    return True
