"""Keyring objects (``keyring/<id>``) and the master key each one belongs to.

A keyring object is sealed under one master key's keyring key (docs/design.md §5). The
envelope's key-id field, unused otherwise, names that master key: zeros for the
repository's first master key (every keyring written before ``key revoke`` existed), and
``ring_id(M)`` for a master key that ``key revoke`` introduced. An opener reads the keyring
objects of its own master key — those named ``ring_id(M)`` if there are any, else those
named with zeros — and skips the others: they belong to a master key that was retired (or
to one that was never finished), they are not damage.
"""

from __future__ import annotations

import os

from pgdr.errors import IntegrityError
from pgdr.repo import format as fmt
from pgdr.repo.envelope import Sealer, key_id_of
from pgdr.repo.format import KEY_ID_LEN, ObjectType
from pgdr.repo.keys import Keyring, MasterKey, hkdf
from pgdr.storage.base import Backend

FIRST_MASTER = bytes(KEY_ID_LEN)


def ring_id(master: MasterKey) -> bytes:
    """The key id under which the keyring objects of a later master key are sealed."""
    return hkdf(master.secret, "pgdr keyring id v1", KEY_ID_LEN)


def ring_id_for(master: MasterKey, ring: Keyring) -> bytes:
    """A keyring carries inherited keys exactly when its master key is not the first."""
    return FIRST_MASTER if ring.inherited is None else ring_id(master)


def write(backend: Backend, master: MasterKey, ring: Keyring) -> str:
    kid = ring_id_for(master, ring)
    sealer = Sealer({kid: master.keyring_key}, kid)
    name = f"{fmt.KEYRING_PREFIX}{int(ring.created * 1e6):020d}-{os.urandom(4).hex()}"
    data = sealer.seal(ObjectType.KEYRING, ring.to_json(), name.encode(), compress=False)
    backend.put(name, data)
    return name


def open_object(master: MasterKey, key: str, data: bytes, own: bytes) -> Keyring | None:
    """The keyring in ``data``, or None when it belongs to another master key than the
    one whose keyring objects are named ``own``. Raises IntegrityError for damage."""
    if key_id_of(data, key) != own:
        return None
    sealer = Sealer({own: master.keyring_key}, own)
    plain = sealer.open(data, key.encode(), key, ObjectType.KEYRING)
    try:
        ring = Keyring.from_json(plain)
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"{key}: damaged keyring") from None
    if (ring.inherited is None) != (own == FIRST_MASTER):
        raise IntegrityError(f"{key}: keyring does not match the master key it is sealed under")
    return ring


def own_ring_id(master: MasterKey, objects: dict[str, bytes]) -> bytes:
    """Which keyring objects ``master`` owns: ``ring_id(master)`` if any is named so (a
    later master key), else the first master key's zeros."""
    later = ring_id(master)
    if any(key_id_of(data, key) == later for key, data in objects.items()):
        return later
    return FIRST_MASTER


def read_all(backend: Backend) -> dict[str, bytes]:
    return {i.key: backend.get(i.key) for i in backend.list(fmt.KEYRING_PREFIX)}


def read(backend: Backend, master: MasterKey) -> Keyring:
    """The merged keyring of ``master`` (§5: every keyring object of that master key)."""
    objects = read_all(backend)
    own = own_ring_id(master, objects)
    rings = [r for k, d in objects.items() if (r := open_object(master, k, d, own)) is not None]
    if not rings and objects:  # e.g. a flipped key-id byte: name the objects, say why
        more = f" (and {len(objects) - 1} more)" if len(objects) > 1 else ""
        raise IntegrityError(
            f"{min(objects)}: damaged keyring, or one of another master key{more}: no "
            "keyring object belongs to the master key this key opens"
        )
    if not rings:
        raise IntegrityError("keyring: repository has no keyring object")
    return Keyring.merge(rings)
