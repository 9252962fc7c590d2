"""Key slots an attacker with bucket write may plant: only the configured key opens the
repository (KMS over real HTTP to the moto server, with the configured KeyId passed to
Decrypt), and KDF parameters read from a slot are bounded before the KDF runs."""

from __future__ import annotations

import base64
import os
import time

import boto3
import pytest

from pgdr.errors import KdfOutOfBounds, KmsError, WrongKey
from pgdr.repo import format as fmt
from pgdr.repo.keys import KeySlot, KmsKey, MasterKey, encode_slot, make_slot
from pgdr.repo.kms import kms_wrap
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from pgdr.storage.base import Backend
from tests.fixtures.forge import plant_repository
from tests.fixtures.keys import PASS
from tests.fixtures.moto_server import REGION

pytestmark = pytest.mark.component


@pytest.fixture
def two_kms_keys(moto_endpoint: str) -> tuple[KmsKey, KmsKey]:
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION)
    ours, theirs = (kms.create_key(Description=d)["KeyMetadata"] for d in ("ours", "attacker"))
    return (
        KmsKey(ours["KeyId"], REGION, moto_endpoint),
        KmsKey(theirs["Arn"], REGION, moto_endpoint),
    )


def test_slot_recorded_for_another_kms_key_is_never_tried(
    s3_url: str, two_kms_keys: tuple[KmsKey, KmsKey]
) -> None:
    ours, theirs = two_kms_keys
    Repository.init(open_backend(s3_url), ours)
    plant_repository(open_backend(s3_url), theirs, theirs.key_id)
    with pytest.raises(WrongKey, match=r"1 slot.* of other KMS keys skipped"):
        Repository.open(open_backend(s3_url), ours)


def test_slot_claiming_our_key_but_wrapped_by_another_is_refused_by_kms(
    s3_url: str, two_kms_keys: tuple[KmsKey, KmsKey]
) -> None:
    """The slot's record lies: only passing the configured KeyId to Decrypt catches it."""
    ours, theirs = two_kms_keys
    Repository.init(open_backend(s3_url), ours)
    plant_repository(open_backend(s3_url), theirs, ours.key_id)
    with pytest.raises((WrongKey, KmsError), match=ours.key_id):
        Repository.open(open_backend(s3_url), ours)


def test_planted_slot_beside_ours_does_not_stop_the_open(
    s3_url: str, two_kms_keys: tuple[KmsKey, KmsKey]
) -> None:
    ours, theirs = two_kms_keys
    repo = Repository.init(open_backend(s3_url), ours)
    backend = open_backend(s3_url)
    planted = make_slot(theirs, MasterKey(os.urandom(32)), repo.config.repo_id, "x", kms_wrap)
    planted.slot_id = "0" * 16  # listed before ours
    planted.params["key_id"] = ours.key_id
    forged = encode_slot(planted, repo.config.repo_id, MasterKey(os.urandom(32)))
    backend.put(f"{fmt.KEYS_PREFIX}{planted.slot_id}", forged)
    opened = Repository.open(backend, ours)
    assert opened.master == repo.master and opened.unlocked_slot == repo.unlocked_slot


# --- bounded KDF ---------------------------------------------------------------------------


def plant_scrypt_slot(backend: Backend, repo_id: str, n: int, r: int, p: int) -> str:
    """A passphrase slot asking for scrypt(n, r, p); its MAC cannot be right (the attacker
    has no master key), but the KDF would run before the MAC can be checked."""
    salt = base64.b64encode(os.urandom(16)).decode()
    params = {"kdf": "scrypt", "n": n, "r": r, "p": p, "salt": salt}
    slot = KeySlot("0" * 16, "passphrase", "planted", time.time(), params, os.urandom(60))
    backend.put(
        f"{fmt.KEYS_PREFIX}{slot.slot_id}", encode_slot(slot, repo_id, MasterKey(b"x" * 32))
    )
    return slot.slot_id


@pytest.mark.parametrize(
    ("n", "r", "p", "named"),
    [
        (1024, 8, 17, "p=17"),
        (1024, 8, 1 << 20, "p=1048576"),  # hours of scrypt
        (1 << 30, 8, 1, "n=1073741824"),  # 1 TiB
        (1 << 20, 32, 1, "r=32 needs 4096 MiB"),
        (512, 8, 1, "n=512 is below the 1024"),
        (1000, 8, 1, "not a power of two"),
    ],
)
def test_planted_scrypt_parameters_are_refused_before_scrypt_runs(
    backend: Backend, n: int, r: int, p: int, named: str
) -> None:
    repo = Repository.init(backend, PASS)
    planted = plant_scrypt_slot(backend, repo.config.repo_id, n, r, p)
    ours = f"{fmt.KEYS_PREFIX}{repo.unlocked_slot}"
    saved = backend.get(ours)

    backend.delete(ours)  # only the planted slot: a named error, at once
    t0 = time.monotonic()
    with pytest.raises(KdfOutOfBounds, match=f"key slot {planted}: .*{named}"):
        Repository.open(backend, PASS)
    assert time.monotonic() - t0 < 1.0

    backend.put(ours, saved)  # beside ours: skipped, and ours opens
    t0 = time.monotonic()
    assert Repository.open(backend, PASS).master == repo.master
    assert time.monotonic() - t0 < 1.0
