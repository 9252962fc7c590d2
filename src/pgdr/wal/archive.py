"""Pushing and fetching WAL files (segments, .partial, .history, .backup).

Each WAL file is one object ``wal/<timeline, 8 hex>/<file name>``, sealed (zstd, AES-256-GCM)
with its object key as context, so a file can never be served under another name. A push
returns only after the object is durable; PostgreSQL recycles the segment only then.
Pushing a file that is already stored with identical content succeeds (archive_command is
retried after crashes); with different content it fails loudly and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import blake3

from pgdr.errors import ObjectNotFound, UsageError, WalConflict
from pgdr.localfs import atomic_write
from pgdr.pg.wal import is_backup_history, is_history, is_partial, is_segment, timeline_of_name
from pgdr.pg.wal_header import BadWalFile, check_segment
from pgdr.repo.format import WAL_PREFIX, ObjectType
from pgdr.repo.repository import Repository
from pgdr.storage.base import ObjectInfo
from pgdr.wal import cluster


@dataclass(frozen=True)
class PushResult:
    name: str
    status: str  # "stored" | "already-stored"
    bytes: int
    stored_bytes: int


def check_wal_name(name: str) -> str:
    if "/" in name or not (
        is_segment(name) or is_partial(name) or is_history(name) or is_backup_history(name)
    ):
        raise UsageError(f"{name!r} is not a WAL segment, .partial, .history or .backup file name")
    return name


def wal_key(name: str) -> str:
    check_wal_name(name)
    return f"{WAL_PREFIX}{timeline_of_name(name):08X}/{name}"


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


def read(repo: Repository, name: str) -> bytes:
    key = wal_key(name)
    return repo.sealer.open(repo.backend.get(key), key.encode(), key, ObjectType.WAL)


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


def list_wal(repo: Repository) -> dict[int, list[str]]:
    """Archived WAL file names per timeline, sorted."""
    return group_wal(repo.backend.list(WAL_PREFIX))


def group_wal(infos: Iterable[ObjectInfo]) -> dict[int, list[str]]:
    """A listing of ``wal/`` as file names per timeline, sorted."""
    out: dict[int, list[str]] = defaultdict(list)
    for info in infos:
        _prefix, tli, name = info.key.split("/", 2)
        out[int(tli, 16)].append(name)
    return dict(out)
