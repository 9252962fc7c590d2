"""A new master key for new data (``pgdr key revoke``, docs/design.md §5 "Revocation").

Removing a slot does not revoke: whoever unlocked with it may have kept the master key M1,
and the keyring is sealed under a key derived from M1. So revocation changes the master
key. In this order (a crash at any step leaves a repository that opens):

1. a new random master key M2 and a slot wrapping it for the key the operator unlocked with
   (a KMS key re-wraps with Encrypt) — built, and proven to unwrap to M2, before anything
   is written;
2. a keyring object sealed under M2 (named ``ring_id(M2)``, pgdr.repo.keyring_store):
   every data key M1's keyring held plus a fresh current one, and what old objects need
   of M1 (``Inherited``: the blob-id key, the BLAKE3 of ``config``);
3. the new slot;
4. every other slot deleted: keys other than the operator's are added again with
   ``key add`` (M1 is in none of them any more).

Nothing else is rewritten: packs, index, manifests and WAL objects name their data key,
which M2's keyring holds. M1's keyring objects stay (they hold only keys M1 already had)
and M2 openers skip them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import blake3

from pgdr.errors import UsageError
from pgdr.repo import format as fmt
from pgdr.repo import keyring_store
from pgdr.repo.keys import (
    Inherited,
    Keyring,
    KeySlot,
    KeySource,
    KmsKey,
    MasterKey,
    encode_slot,
    make_slot,
    unwrap_slot,
)
from pgdr.repo.repoconfig import decode_config
from pgdr.repo.repository import Repository
from pgdr.repo.unlock import kms_funcs


@dataclass(frozen=True)
class MasterChange:
    slot: KeySlot  # the new slot, for the key the operator unlocked with
    removed: list[str]  # every slot id that was deleted
    data_key: bytes  # the fresh current data key, only in the new master's keyring
    fingerprint: str  # of the new master key (the identity pin follows it)


def change_master_key(repo: Repository, source: KeySource, label: str) -> MasterChange:
    """Give ``repo`` (opened with ``source``) a new master key; ``repo`` uses it afterwards."""
    if repo.master is None or repo.keyring is None:
        raise UsageError("an unencrypted repository has no master key to change")
    b, repo_id = repo.backend, repo.config.repo_id
    raw = b.get(fmt.CONFIG_KEY)
    _cfg, signed, tag = decode_config(raw)
    repo.check_config(signed, tag)  # the digest we carry forward names a config we trust
    inherited = repo.keyring.inherited or Inherited(repo.master.id_key, blake3.blake3(raw).digest())

    new = MasterKey(os.urandom(32))
    wrap, unwrap = kms_funcs() if isinstance(source, KmsKey) else (None, None)
    slot = make_slot(source, new, repo_id, label, wrap)
    if unwrap_slot(slot, source, repo_id, unwrap) != new:
        raise UsageError("the new key slot does not open with your key; nothing changed")
    fresh = Keyring.new()
    ring = Keyring({**repo.keyring.keys, **fresh.keys}, fresh.current, inherited=inherited)
    ring.created = max(time.time(), repo.keyring.created + 1e-6)
    old = [key for key, _slot in repo.key_slots()]

    keyring_store.write(b, new, ring)
    b.put(f"{fmt.KEYS_PREFIX}{slot.slot_id}", encode_slot(slot, repo_id, new))
    for key in old:
        b.delete(key)

    repo.switch_master(new, slot.slot_id)
    removed = [k.removeprefix(fmt.KEYS_PREFIX) for k in old]
    return MasterChange(slot, removed, fresh.current, new.fingerprint)
