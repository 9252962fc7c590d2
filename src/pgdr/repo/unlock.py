"""Unlocking: which key slots the configured key may open, and why none did.

Only slots of the configured key are tried (docs/design.md §5): slots of another kind or,
for KMS, recorded for another key are skipped; slots with KDF parameters outside the bounds
are refused before the KDF runs. When no slot opens, the error says why: wrong key, no slot
of that kind, damaged slots, refused KDF parameters or KMS errors.
"""

from __future__ import annotations

from typing import Any

from pgdr.errors import IntegrityError, KdfOutOfBounds, KmsError, WrongKey
from pgdr.repo import format as fmt
from pgdr.repo.keys import (
    KeyFile,
    KeySource,
    KmsKey,
    MasterKey,
    decode_slot,
    may_be_same_kms_key,
    unwrap_slot,
)
from pgdr.repo.repoconfig import RepoConfig
from pgdr.storage.base import Backend


def kms_funcs() -> tuple[Any, Any]:
    """(wrap, unwrap) through AWS KMS, imported only when a KMS key is used (boto3 is slow
    to load)."""
    from pgdr.repo.kms import kms_unwrap, kms_wrap

    return kms_wrap, kms_unwrap


def unlock(backend: Backend, cfg: RepoConfig, key: KeySource) -> tuple[MasterKey, str]:
    """Only slots of the configured key are tried (§5): slots of another kind or, for
    KMS, recorded for another key are skipped; slots with KDF parameters outside the
    bounds are refused before the KDF runs."""
    if isinstance(key, KeyFile):
        key.read()  # a missing or unreadable key file is its own error, before anything else
    kms_unwrap = kms_funcs()[1] if isinstance(key, KmsKey) else None
    tried = 0
    damaged: list[str] = []
    refused: list[str] = []
    foreign = 0
    kms_errors: list[KmsError] = []
    opened_damaged: list[str] = []  # this key unwraps them, so the key is right
    for info in backend.list(fmt.KEYS_PREFIX):
        try:
            slot, signed, mac = decode_slot(backend.get(info.key), info.key)
        except IntegrityError:
            damaged.append(info.key)
            continue
        if slot.kind != key.kind:
            continue
        if isinstance(key, KmsKey) and not may_be_same_kms_key(
            str(slot.params.get("key_id", "")), key.key_id
        ):
            foreign += 1
            continue
        try:
            master = unwrap_slot(slot, key, cfg.repo_id, kms_unwrap)
        except KdfOutOfBounds as e:
            refused.append(e.message)
            continue
        except WrongKey:
            tried += 1
            continue
        except KmsError as e:  # e.g. access denied: another slot may still open
            kms_errors.append(e)
            continue
        tried += 1
        if master is None:
            continue
        if master.mac(signed) != mac:
            damaged.append(info.key)
            opened_damaged.append(info.key)
            continue
        return master, slot.slot_id
    extra = f" ({len(damaged)} damaged slot(s): {', '.join(damaged)})" if damaged else ""
    if opened_damaged:
        raise IntegrityError(
            f"{opened_damaged[0]}: damaged key slot: the key opens it, but its MAC does not "
            "match (add a new slot from a backup of the key, or restore the object)"
        )
    if refused:
        extra += f" (refused: {'; '.join(refused)})"
    if foreign:
        extra += f" ({foreign} slot(s) of other KMS keys skipped)"
    if kms_errors:
        more = f" (and {len(kms_errors) - 1} more)" if len(kms_errors) > 1 else ""
        raise KmsError(f"{kms_errors[0].message}{more}{extra}")
    if tried == 0 and refused:
        raise KdfOutOfBounds(f"cannot unlock: {'; '.join(refused)}")
    if tried == 0 and damaged:
        raise IntegrityError(f"cannot unlock: every key slot is damaged: {', '.join(damaged)}")
    if tried == 0:
        what = (
            f"{key.kind} key slot"
            if not isinstance(key, KmsKey)
            else f"slot of KMS key {key.key_id}"
        )
        raise WrongKey(f"no {what} in repository at {backend.url}{extra}")
    what = {"passphrase": "passphrase", "keyfile": "key file", "kms": "KMS key"}[key.kind]
    raise WrongKey(f"wrong {what}: it opens none of the {tried} {key.kind} key slot(s){extra}")
