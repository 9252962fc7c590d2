"""Data keys: rotate (new data sealed with a new key, old data stays readable) and rewrite
(re-encrypt what older keys sealed under the current one).

Rewrite, under the delete lock:
* packs holding blobs of an older key are repacked by garbage collection (``rewrite``
  predicate): blobs re-encrypted (no decompression), new packs and a new index object
  superseding every old one, old packs and index objects deleted by the plan protocol;
* manifests and WAL objects are re-sealed under the SAME name (an atomic put of the same
  plaintext in a new envelope: their names are identities — a backup id, a WAL file name —
  that restore and PostgreSQL ask for; docs/design.md §9 rule 5 names this exception).

Old keys stay in the keyring: a writer that opened the repository before the rotation may
still seal with one; the next rewrite picks up what it wrote (``remaining`` counts them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pgdr.errors import ObjectNotFound, UsageError
from pgdr.repo import format as fmt
from pgdr.repo.envelope import HEADER_LEN, key_id_of
from pgdr.repo.format import ObjectType
from pgdr.repo.gc import GcOptions, GcReport, collect
from pgdr.repo.locks import LockManager
from pgdr.repo.pack import PACK_HEADER, RECORD_HEAD
from pgdr.repo.repository import Repository

FIRST_ENVELOPE = len(PACK_HEADER) + RECORD_HEAD.size


@dataclass
class DataKeyRotation:
    new_key_id: str
    previous_key_id: str
    keys: int


@dataclass
class RekeyReport:
    current_key_id: str
    manifests_rewritten: int = 0
    wal_rewritten: int = 0
    gc: GcReport | None = None
    #: Objects still sealed with an older key after the run (written concurrently, or
    #: packs left for a pending deletion plan), by kind.
    remaining: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def rotate_data_key(repo: Repository) -> DataKeyRotation:
    if repo.keyring is None:
        raise UsageError("an unencrypted repository has no data keys to rotate")
    previous = repo.keyring.current
    new = repo.add_data_key()
    assert repo.keyring is not None
    return DataKeyRotation(new.hex(), previous.hex(), len(repo.keyring.keys))


def rewrite(repo: Repository, gc: GcOptions | None = None) -> RekeyReport:
    """Re-encrypt every object an older data key sealed under the current one."""
    if repo.keyring is None:
        raise UsageError("an unencrypted repository has no data keys; nothing to rekey")
    t0 = time.monotonic()
    current = repo.sealer.current_key_id
    rep = RekeyReport(current.hex())
    with LockManager(repo.backend).acquire("delete", "rekey") as lock:
        for key in _keys(repo, fmt.MANIFESTS_PREFIX):
            rep.manifests_rewritten += _reseal(repo, key, ObjectType.MANIFEST, current)
        for key in _keys(repo, fmt.WAL_PREFIX):
            rep.wal_rewritten += _reseal(repo, key, ObjectType.WAL, current)
        old_index = any(_old(repo, k, current, HEADER_LEN) for k in _keys(repo, fmt.INDEX_PREFIX))
        opts = replace(
            gc or GcOptions(),
            purpose="rekey",
            rewrite=_pack_predicate(repo, current),
            rewrite_index=old_index,
        )
        rep.gc = collect(repo, opts, lock=lock)
    rep.remaining = remaining_old(repo)
    rep.seconds = time.monotonic() - t0
    return rep


def remaining_old(repo: Repository) -> dict[str, int]:
    """Objects not sealed with the current data key, by kind (packs judged by their first
    blob: every pack is written with one data key)."""
    current = repo.sealer.current_key_id
    out = {}
    for kind, prefix, offset in (
        ("pack", fmt.DATA_PREFIX, FIRST_ENVELOPE),
        ("index", fmt.INDEX_PREFIX, 0),
        ("manifest", fmt.MANIFESTS_PREFIX, 0),
        ("wal", fmt.WAL_PREFIX, 0),
    ):
        n = sum(_old(repo, k, current, HEADER_LEN, offset) for k in _keys(repo, prefix))
        if n:
            out[kind] = n
    return out


def _keys(repo: Repository, prefix: str) -> list[str]:
    return [i.key for i in repo.backend.list(prefix)]


def _old(repo: Repository, key: str, current: bytes, length: int, offset: int = 0) -> bool:
    try:
        head = repo.backend.get(key, offset, length)
    except ObjectNotFound:
        return False
    return key_id_of(head + bytes(16), key) != current  # pad: only the header is parsed


def _pack_predicate(repo: Repository, current: bytes) -> Callable[[bytes], bool]:
    def sealed_with_old_key(pack_id: bytes) -> bool:
        return _old(repo, fmt.pack_key(pack_id), current, HEADER_LEN, FIRST_ENVELOPE)

    return sealed_with_old_key


def _reseal(repo: Repository, key: str, otype: ObjectType, current: bytes) -> int:
    try:
        data = repo.backend.get(key)
    except ObjectNotFound:
        return 0
    if key_id_of(data, key) == current:
        return 0
    repo.backend.put(key, repo.sealer.reseal(data, key.encode(), key, otype))
    return 1
