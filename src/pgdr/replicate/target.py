"""The replication target: is it ours (or empty), and can it be opened on its own?

A replica is the *same* repository (same id, master key, keyring, config object) at another
location, with its own key slots: the slot for the replica's configured key source is
written from the master key we hold after opening the primary. Key slots are never copied,
so the replica opens with its own KEK (e.g. a KMS key in its own region) and a KEK rotated
away on the primary does not linger on the replica.
"""

from __future__ import annotations

from pgdr.errors import IntegrityError, ObjectNotFound, ReplicaMismatch, UsageError, WrongKey
from pgdr.repo import format as fmt
from pgdr.repo.keys import KeySource, decode_slot
from pgdr.repo.repoconfig import decode_config
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend


def check_target(source: Repository, target: Backend) -> bool:
    """Raise ReplicaMismatch unless ``target`` is empty, a replica of ``source`` or a
    half-copied one. Returns whether it already has its config (is complete)."""
    if target.url == source.backend.url:
        raise UsageError(f"cannot replicate {target.url} onto itself")
    try:
        raw = target.get(fmt.CONFIG_KEY)
    except ObjectNotFound:
        raw = None
    ours = source.config.repo_id
    if raw is not None:
        try:
            cfg, signed, tag = decode_config(raw)
        except IntegrityError as e:
            raise ReplicaMismatch(f"{target.url}: unreadable config ({e.message})") from None
        if cfg.repo_id != ours:
            raise ReplicaMismatch(
                f"{target.url} holds another pgdr repository ({cfg.repo_id}), not a replica "
                f"of {ours}; replicate into an empty location"
            )
        try:
            source.check_config(signed, tag)
        except IntegrityError:
            raise ReplicaMismatch(
                f"{target.url}: its config names repository {ours} but does not authenticate "
                "with this repository's key (forged or damaged)"
            ) from None
        return True
    # No config: new, or a replication that was interrupted. Its pgdr objects must be ours.
    for info in target.list(fmt.KEYS_PREFIX):
        try:
            _slot, signed, mac = decode_slot(target.get(info.key), info.key)
        except IntegrityError:
            raise ReplicaMismatch(f"{target.url}: damaged key slot {info.key}") from None
        if source.master is None or source.master.mac(signed) != mac:
            raise ReplicaMismatch(
                f"{target.url} holds key slot {info.key} of another repository; "
                "replicate into an empty location"
            )
    for info in list(target.list(fmt.KEYRING_PREFIX))[:1]:
        if source.master is None:
            raise ReplicaMismatch(f"{target.url} holds a keyring of another repository")
        try:
            source.open_keyring_object(info.key, target.get(info.key))
        except IntegrityError:
            raise ReplicaMismatch(f"{target.url} holds {info.key} of another repository") from None
    return False


def ensure_slot(
    source: Repository, target: Backend, key: KeySource | None, label: str
) -> str | None:
    """Make sure ``key`` opens the replica; returns the id of a slot written, or None."""
    if source.master is None:
        return None  # an unencrypted repository's replica is unencrypted too
    if key is None:
        raise UsageError(
            f"the replica at {target.url} has no key configured (kms_key_id, key_file or "
            "passphrase): it could not be opened on its own"
        )
    retired = False
    try:
        master, _slot = Repository.find_slot(target, source.config, key)
        if master == source.master:
            return None
        retired = True  # the source's master key changed (`key revoke`, docs/design.md §5)
    except (WrongKey, IntegrityError):
        pass
    replica = Repository(target, source.config, source.master, source.keyring)
    added = replica.add_key(key, label).slot_id
    if retired:  # the replica follows the revocation: no slot of the old master key stays
        for slot_key, slot in replica.key_slots():
            if slot is None:
                target.delete(slot_key)
    return added
