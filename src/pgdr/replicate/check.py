"""Verifying one object read from the source before it is written to the replica.

Packs and index objects are named by BLAKE3 of their bytes; everything else is an
authenticated envelope (or MAC'd body) opened with the source repository's keys. An object
that fails is never copied: the replica holds only what the primary could prove.
"""

from __future__ import annotations

import blake3

from pgdr.audit.entry import open_entry
from pgdr.errors import IntegrityError
from pgdr.repo import format as fmt
from pgdr.repo.format import ObjectType
from pgdr.repo.repoconfig import decode_config
from pgdr.repo.repository import INDEX_CONTEXT, Repository


def _named_by_hash(key: str, data: bytes, prefix: str) -> None:
    name = key.rsplit("/", 1)[-1]
    if blake3.blake3(data).hexdigest() != name:
        raise IntegrityError(f"{key}: content does not match its name (damaged)")
    if prefix == fmt.DATA_PREFIX and key != fmt.pack_key(bytes.fromhex(name)):
        raise IntegrityError(f"{key}: pack stored under the wrong directory")


def verify_object(repo: Repository, key: str, data: bytes) -> None:
    """Raise IntegrityError unless ``data`` is a valid object of ``repo`` named ``key``."""
    if key == fmt.CONFIG_KEY:
        cfg, signed, tag = decode_config(data)
        if cfg.repo_id != repo.config.repo_id:
            raise IntegrityError(f"config: belongs to repository {cfg.repo_id}")
        repo.check_config(signed, tag)
    elif key.startswith(fmt.DATA_PREFIX):
        _named_by_hash(key, data, fmt.DATA_PREFIX)
    elif key.startswith(fmt.INDEX_PREFIX):
        _named_by_hash(key, data, fmt.INDEX_PREFIX)
        repo.sealer.open(data, INDEX_CONTEXT, key, ObjectType.INDEX)
    elif key.startswith(fmt.KEYRING_PREFIX):
        if repo.master is None:
            raise IntegrityError(f"{key}: keyring in an unencrypted repository")
        repo.open_keyring_object(key, data)  # None: a retired master key's keyring (§5)
    elif key.startswith(fmt.MANIFESTS_PREFIX):
        repo.sealer.open(data, key.encode(), key, ObjectType.MANIFEST)
    elif key.startswith(fmt.WAL_PREFIX):
        repo.sealer.open(data, key.encode(), key, ObjectType.WAL)
    elif key.startswith(fmt.AUDIT_PREFIX):
        open_entry(repo, key, data)
    else:
        raise IntegrityError(f"{key}: not an object replication knows how to verify")
