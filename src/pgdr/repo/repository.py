"""Repository: creating, opening, keys (slots and keyring), blob ids and blob reads.
Unlocking is in pgdr.repo.unlock, keyring objects in pgdr.repo.keyring_store, manifests in
pgdr.repo.manifests, index objects in pgdr.repo.index_objects.

Write order (docs/design.md, "Invariants"): packs -> index -> manifest. Read order is the
reverse. ``config`` is written last at init, so a location holds a repository exactly when
its ``config`` exists.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

import blake3

from pgdr.errors import (
    IntegrityError,
    KeyMissing,
    NotARepository,
    ObjectNotFound,
    RepositoryExists,
    UsageError,
)
from pgdr.repo import format as fmt
from pgdr.repo import keyring_store
from pgdr.repo.envelope import Sealer
from pgdr.repo.format import ObjectType
from pgdr.repo.index_objects import INDEX_CONTEXT, IndexObjects, active_index_ids
from pgdr.repo.keys import (
    Keyring,
    KeySlot,
    KeySource,
    KmsKey,
    MasterKey,
    decode_slot,
    encode_slot,
    make_slot,
)
from pgdr.repo.manifests import Manifest, Manifests
from pgdr.repo.repoconfig import RepoConfig, check_config_tag, decode_config, encode_config
from pgdr.repo.unlock import kms_funcs, unlock
from pgdr.storage.base import Backend

if TYPE_CHECKING:  # NumPy loads only when the index does: WAL pushes never need it
    from pgdr.repo.index import BlobIndex, Location

log = logging.getLogger(__name__)


class Repository(Manifests, IndexObjects):
    def __init__(
        self,
        backend: Backend,
        config: RepoConfig,
        master: MasterKey | None,
        keyring: Keyring | None,
        slot_id: str | None = None,
    ) -> None:
        self.backend = backend
        self.config = config
        self.master = master
        self.keyring = keyring
        self.unlocked_slot = slot_id
        self.sealer = Sealer(None, None, config.compression_level)
        self._id_key: bytes | None = None
        if keyring is not None:
            self._use_keyring(keyring)
        self._index: BlobIndex | None = None
        self._reload_lock = threading.Lock()

    def _use_keyring(self, ring: Keyring) -> None:
        """Seal with the ring's current data key; name blobs with the first master key's
        id key (inherited by a later master key's keyring, §5)."""
        assert self.master is not None
        self.keyring = ring
        self.sealer = Sealer(ring.keys, ring.current, self.config.compression_level)
        self._id_key = ring.inherited.id_key if ring.inherited else self.master.id_key

    # --- creation and opening ------------------------------------------------------------

    @classmethod
    def init(
        cls,
        backend: Backend,
        key: KeySource | None,
        *,
        unencrypted: bool = False,
        pack_size: int = fmt.DEFAULT_PACK_SIZE,
        compression_level: int = 1,
        label: str = "initial",
    ) -> Repository:
        if backend.stat(fmt.CONFIG_KEY) is not None:
            raise RepositoryExists(f"{backend.url} already holds a pgdr repository")
        if key is None and not unencrypted:
            raise KeyMissing(
                "no key given: set a passphrase (PGDR_PASSPHRASE), a key file or a KMS key, "
                "or pass --unencrypted explicitly"
            )
        if key is not None and unencrypted:
            raise UsageError("--unencrypted cannot be combined with a key")
        repo_id = os.urandom(16).hex()
        cfg = RepoConfig(
            repo_id=repo_id,
            created=time.time(),
            encryption="none" if unencrypted else "aes-256-gcm",
            pack_size=pack_size,
            compression_level=compression_level,
        )
        written: list[str] = []
        master = keyring = None
        slot_id = None
        try:
            if key is not None:
                master = MasterKey(os.urandom(32))
                kms_wrap = kms_funcs()[0] if isinstance(key, KmsKey) else None
                slot = make_slot(key, master, repo_id, label, kms_wrap)  # may fail: nothing written
                slot_id = slot.slot_id
                keyring = Keyring.new()
                repo = cls(backend, cfg, master, keyring)
                written.append(repo._write_keyring(keyring))
                written.append(repo._write_slot(slot))
            backend.put(fmt.CONFIG_KEY, encode_config(cfg, master))
        except BaseException:
            for k in written:
                backend.delete(k)
            raise
        return cls(backend, cfg, master, keyring, slot_id)

    @classmethod
    def read_config(cls, backend: Backend) -> tuple[RepoConfig, bytes, bytes]:
        try:
            raw = backend.get(fmt.CONFIG_KEY)
        except ObjectNotFound:
            raise NotARepository(
                f"no pgdr repository at {backend.url} (no 'config' object); "
                "create one with `pgdr repo init`"
            ) from None
        return decode_config(raw)

    @classmethod
    def open(
        cls, backend: Backend, key: KeySource | None, *, allow_unencrypted: bool = False
    ) -> Repository:
        cfg, signed, tag = cls.read_config(backend)
        if not cfg.encrypted:
            if not allow_unencrypted:
                raise UsageError(
                    f"repository at {backend.url} is unencrypted; pass --unencrypted to use it"
                )
            check_config_tag(signed, tag, None)
            return cls(backend, cfg, None, None)
        if key is None:
            raise KeyMissing(
                f"repository at {backend.url} is encrypted: give a passphrase "
                '(PGDR_PASSPHRASE or passphrase = "env:NAME"), a key file or a KMS key'
            )
        master, slot_id = cls._unlock(backend, cfg, key)
        try:
            check_config_tag(signed, tag, master)
            first_master = True
        except IntegrityError:
            first_master = False  # a later master key (§5): its keyring vouches for config
        repo = cls(backend, cfg, master, None, slot_id)
        repo._use_keyring(repo._read_keyring())
        if not first_master:
            repo.check_config(signed, tag)
        return repo

    def check_config(self, signed: bytes, tag: bytes) -> None:
        """Authenticate the ``config`` object (§4, §5): its tag is keyed under the first
        master key; after ``key revoke`` the keyring names the config by its BLAKE3 instead.
        Raises IntegrityError."""
        ring = self.keyring
        if ring is not None and ring.inherited is not None:
            if blake3.blake3(signed + tag).digest() != ring.inherited.config_sum:
                raise IntegrityError("config: authentication failed (damaged or forged)")
            return
        check_config_tag(signed, tag, self.master)

    @staticmethod
    def find_slot(backend: Backend, cfg: RepoConfig, key: KeySource) -> tuple[MasterKey, str]:
        """The master key and slot id that ``key`` opens at ``backend`` (which need not hold
        a ``config`` yet: replication checks a half-copied replica). Raises WrongKey."""
        return Repository._unlock(backend, cfg, key)

    @staticmethod
    def _unlock(backend: Backend, cfg: RepoConfig, key: KeySource) -> tuple[MasterKey, str]:
        return unlock(backend, cfg, key)

    # --- keys ----------------------------------------------------------------------------

    def _write_slot(self, slot: KeySlot) -> str:
        assert self.master is not None
        key = f"{fmt.KEYS_PREFIX}{slot.slot_id}"
        self.backend.put(key, encode_slot(slot, self.config.repo_id, self.master))
        return key

    def _write_keyring(self, ring: Keyring) -> str:
        assert self.master is not None
        return keyring_store.write(self.backend, self.master, ring)

    def open_keyring_object(self, key: str, data: bytes) -> Keyring | None:
        """A keyring object of this master key, or None for one of another master key
        (retired by ``key revoke``, §5). Raises IntegrityError for damage."""
        assert self.master is not None
        ring = self.keyring
        own = keyring_store.ring_id_for(self.master, ring) if ring else keyring_store.FIRST_MASTER
        return keyring_store.open_object(self.master, key, data, own)

    def _read_keyring_object(self, key: str) -> Keyring | None:
        return self.open_keyring_object(key, self.backend.get(key))

    def _read_keyring(self) -> Keyring:
        assert self.master is not None
        return keyring_store.read(self.backend, self.master)

    def add_data_key(self) -> bytes:
        """Rotate the data key: write a new keyring object holding every known key plus a
        new one, which becomes current (newest keyring wins on open, §5). Old data stays
        readable; new objects are sealed with the new key. Returns the new key id."""
        if self.master is None or self.keyring is None:
            raise UsageError("an unencrypted repository has no data keys")
        fresh = Keyring.new()
        ring = Keyring({**self.keyring.keys, **fresh.keys}, fresh.current)
        ring.inherited = self.keyring.inherited
        if ring.created <= self.keyring.created:  # clock behind the newest keyring: stay newest
            ring.created = self.keyring.created + 1e-6
        self._write_keyring(ring)
        self._use_keyring(self._read_keyring())
        return fresh.current

    def switch_master(self, master: MasterKey, slot_id: str) -> None:
        """Use ``master`` from now on: ``key revoke`` gave the repository a new one."""
        self.master = master
        self.unlocked_slot = slot_id
        self._use_keyring(self._read_keyring())

    def reload_keyring(self) -> None:
        """Re-read the keyring (another process may have added a data key since open)."""
        if self.master is None:
            return
        self._use_keyring(self._read_keyring())

    def key_slots(self) -> list[tuple[str, KeySlot | None]]:
        """All slots, each with its parsed content or None when damaged."""
        out: list[tuple[str, KeySlot | None]] = []
        for info in self.backend.list(fmt.KEYS_PREFIX):
            try:
                slot, signed, mac = decode_slot(self.backend.get(info.key), info.key)
                ok = self.master is not None and self.master.mac(signed) == mac
                out.append((info.key, slot if ok else None))
            except IntegrityError:
                out.append((info.key, None))
        return out

    def add_key(self, source: KeySource, label: str) -> KeySlot:
        if self.master is None:
            raise UsageError("an unencrypted repository has no keys")
        kms_wrap = kms_funcs()[0] if isinstance(source, KmsKey) else None
        slot = make_slot(source, self.master, self.config.repo_id, label, kms_wrap)
        self._write_slot(slot)
        return slot

    def remove_key(self, slot_id: str, *, allow_current: bool = False) -> None:
        slots = {s.slot_id: k for k, s in self.key_slots() if s is not None}
        if slot_id not in slots:
            raise UsageError(f"no key slot {slot_id}; see `pgdr key list`")
        if len(slots) == 1:
            raise UsageError("refusing to remove the last key slot: the repository would be lost")
        if slot_id == self.unlocked_slot and not allow_current:
            raise UsageError(
                f"slot {slot_id} is the one you unlocked with; unlock with another key to remove it"
            )
        self.backend.delete(slots[slot_id])

    # --- blob ids and named objects -------------------------------------------------------

    def blob_id(self, data: bytes | memoryview) -> bytes:
        if self._id_key is None:
            return blake3.blake3(data).digest()
        return blake3.blake3(data, key=self._id_key).digest()

    # --- blobs ---------------------------------------------------------------------------

    def read_blob(self, blob_id: bytes, loc: Location | None = None) -> bytes:
        """Read one blob. Raises IntegrityError rather than ever returning wrong bytes."""
        if loc is None:
            loc = self.index.get(blob_id)
            if loc is None:
                raise IntegrityError(f"blob {blob_id.hex()} is not in the index")
            try:
                data = self.backend.get(fmt.pack_key(loc.pack_id), loc.offset, loc.length)
            except ObjectNotFound:
                # Garbage collection may have repacked the blob since we loaded the index.
                moved = self._relocate(blob_id, loc)
                if moved is None:
                    raise
                loc = moved
                data = self.backend.get(fmt.pack_key(loc.pack_id), loc.offset, loc.length)
        else:
            data = self.backend.get(fmt.pack_key(loc.pack_id), loc.offset, loc.length)
        return self.open_blob(blob_id, data, f"{fmt.pack_key(loc.pack_id)}@{loc.offset}")

    def _relocate(self, blob_id: bytes, old: Location) -> Location | None:
        """Reload the index once if it still places ``blob_id`` at ``old``; the new place,
        or None when the blob did not move."""
        with self._reload_lock:
            if self._index is not None and self._index.get(blob_id) == old:
                self._index = self.load_index()
            new = self.index.get(blob_id)
        return new if new is not None and new != old else None

    def open_blob(self, blob_id: bytes, envelope: bytes | memoryview, what: str) -> bytes:
        plain = self.sealer.open(envelope, blob_id, what, ObjectType.BLOB)
        if self.blob_id(plain) != blob_id:
            raise IntegrityError(f"{what}: blob content does not match its id {blob_id.hex()}")
        return plain

    def close(self) -> None:
        self.backend.close()


__all__ = ["INDEX_CONTEXT", "Manifest", "Repository", "active_index_ids"]
