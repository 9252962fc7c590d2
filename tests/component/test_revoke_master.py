"""`key revoke` gives the repository a new master key for new data (docs/design.md §5
"Revocation"): whoever kept the old master key — here, by opening the repository with the
revoked key before the revocation — reads only what was written before; the operator's key
reads everything, and the repository verifies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pgdr.catalog.wal import read as read_wal
from pgdr.errors import IntegrityError, WrongKey
from pgdr.pg.wal_header import fake_segment
from pgdr.repo import format as fmt
from pgdr.repo import keyring_store
from pgdr.repo.keys import MasterKey, Passphrase
from pgdr.repo.master_rekey import change_master_key
from pgdr.repo.rekey import rotate_data_key
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.wal.archive import push
from tests.fixtures.blobs import keys, read, store
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component
REVOKED = Passphrase("a key that leaked", scrypt_n=1024)
SYSID = 7312345678901234567


def segment(tmp_path: Path, n: int) -> Path:
    seg = tmp_path / f"0000000100000000000000{n:02X}"
    seg.write_bytes(fake_segment(seg.name, SYSID, body=os.urandom(4096) * 4))
    return seg


def holder_of(repo: Repository, master: MasterKey) -> Repository:
    """The repository as whoever kept ``master`` sees it (no slot needed: the key is kept)."""
    return Repository(repo.backend, repo.config, master, keyring_store.read(repo.backend, master))


def test_revoke_cuts_the_old_master_key_off_new_data(repo: Repository, tmp_path: Path) -> None:
    revoked = repo.add_key(REVOKED, "leaked")
    old_blob = os.urandom(300_000)
    store(repo, "before", old_blob)
    seg_before = segment(tmp_path, 1)
    push(repo, seg_before)
    m1 = Repository.open(repo.backend, REVOKED).master  # the attacker keeps M1
    assert m1 is not None and m1 == repo.master
    other = repo.add_key(Passphrase("a third key", scrypt_n=1024), "other")
    id_before = repo.blob_id(old_blob)

    change = change_master_key(repo, PASS, "initial")

    assert set(change.removed) >= {revoked.slot_id, other.slot_id}
    assert keys(repo, fmt.KEYS_PREFIX) == {f"{fmt.KEYS_PREFIX}{change.slot.slot_id}"}
    new_blob = os.urandom(300_000)
    store(repo, "after", new_blob)
    seg_after = segment(tmp_path, 2)
    push(repo, seg_after)

    # The operator's key opens the new master key, and everything old and new.
    fresh = Repository.open(repo.backend, PASS)
    assert fresh.master is not None and fresh.master != m1
    assert fresh.master.fingerprint == change.fingerprint != m1.fingerprint
    assert fresh.unlocked_slot == change.slot.slot_id
    assert read(fresh, "before") == old_blob and read(fresh, "after") == new_blob
    assert read_wal(fresh, seg_before.name) == seg_before.read_bytes()
    assert read_wal(fresh, seg_after.name) == seg_after.read_bytes()
    assert fresh.sealer.current_key_id == change.data_key
    assert fresh.blob_id(old_blob) == id_before  # blob ids unchanged: deduplication goes on
    rep = verify(fresh, read_data=True)
    assert rep.ok, rep.problems

    # The revoked key and the other old slots no longer open anything.
    for key in (REVOKED, Passphrase("a third key", scrypt_n=1024)):
        with pytest.raises(WrongKey):
            Repository.open(repo.backend, key)

    # Whoever kept M1 reads what was written before, and nothing written after.
    thief = holder_of(repo, m1)
    assert thief.keyring is not None and change.data_key not in thief.keyring.keys
    old_id = fresh.get_manifest("files", "before").ref(0)
    assert thief.get_manifest("files", "before").ref(0) == old_id
    assert thief.read_blob(old_id, fresh.index.get(old_id)) == fresh.read_blob(old_id)
    assert read_wal(thief, seg_before.name) == seg_before.read_bytes()
    with pytest.raises(IntegrityError, match="unknown data key"):
        read_wal(thief, seg_after.name)
    with pytest.raises(IntegrityError, match="unknown data key"):
        thief.get_manifest("files", "after")
    new_id = fresh.get_manifest("files", "after").ref(0)
    with pytest.raises(IntegrityError, match="unknown data key"):
        thief.read_blob(new_id, fresh.index.get(new_id))
    # ... nor the new master key's keyring object, even if it names it as its own.
    ring_m2 = keyring_store.ring_id(fresh.master)
    for key in keys(repo, fmt.KEYRING_PREFIX):
        data = repo.backend.get(key)
        if keyring_store.open_object(fresh.master, key, data, ring_m2) is not None:
            with pytest.raises(IntegrityError, match="authentication failed"):
                keyring_store.open_object(m1, key, data, ring_m2)


def test_a_second_revoke_and_a_data_key_rotation_keep_everything_readable(
    repo: Repository, tmp_path: Path
) -> None:
    first = os.urandom(100_000)
    store(repo, "first", first)
    repo.add_key(REVOKED, "leaked")
    change_master_key(repo, PASS, "initial")
    second = os.urandom(100_000)
    store(repo, "second", second)
    m2 = repo.master
    rotate_data_key(repo)  # under the new master key: its keyring, its inherited keys
    repo.add_key(REVOKED, "again")
    change = change_master_key(repo, PASS, "initial")
    third = os.urandom(100_000)
    store(repo, "third", third)

    fresh = Repository.open(repo.backend, PASS)
    assert fresh.master is not None and fresh.master.fingerprint == change.fingerprint
    assert [read(fresh, n) for n in ("first", "second", "third")] == [first, second, third]
    assert verify(fresh, read_data=True).ok
    assert m2 is not None
    holder = holder_of(repo, m2)
    with pytest.raises(IntegrityError, match="unknown data key"):
        holder.get_manifest("files", "third")


def test_a_forged_config_is_refused_after_the_change(repo: Repository) -> None:
    change_master_key(repo, PASS, "initial")
    raw = repo.backend.get(fmt.CONFIG_KEY)
    _cfg, signed, tag = Repository.read_config(repo.backend)
    fresh = Repository.open(repo.backend, PASS)
    fresh.check_config(signed, tag)
    with pytest.raises(IntegrityError, match="config: authentication failed"):
        fresh.check_config(signed, bytes(32))
    assert raw == signed + tag


def test_a_replica_follows_the_revocation(repo: Repository, tmp_path: Path) -> None:
    from pgdr.replicate.run import replicate
    from pgdr.storage import open_backend

    target = open_backend(f"file://{tmp_path}/replica")
    replica_key = Passphrase("the replica's own key", scrypt_n=1024)
    store(repo, "before", os.urandom(50_000))
    assert replicate(repo, target, replica_key).complete
    m1 = Repository.open(target, replica_key).master

    change = change_master_key(repo, PASS, "initial")
    after = os.urandom(50_000)
    store(repo, "after", after)
    replicate(repo, target, replica_key)

    replica = Repository.open(target, replica_key)
    assert replica.master is not None and replica.master.fingerprint == change.fingerprint
    assert replica.master != m1 and len(list(target.list(fmt.KEYS_PREFIX))) == 1
    assert read(replica, "after") == after
    assert verify(replica, read_data=True).ok


def test_revoke_with_a_kms_key_on_s3_rewraps_with_encrypt(
    s3_url: str, moto_endpoint: str, kms_key_id: str
) -> None:
    from pgdr.repo.keys import KmsKey
    from pgdr.storage import open_backend
    from tests.fixtures.moto_server import REGION

    kms = KmsKey(kms_key_id, REGION, moto_endpoint)
    repo = Repository.init(open_backend(s3_url), kms, pack_size=1 << 20)
    repo.add_key(REVOKED, "leaked")
    before = os.urandom(100_000)
    store(repo, "before", before)

    change = change_master_key(repo, kms, "kms")

    assert change.slot.kind == "kms" and change.slot.params["key_id"] == kms_key_id
    fresh = Repository.open(open_backend(s3_url), kms)
    assert fresh.master is not None and fresh.master.fingerprint == change.fingerprint
    assert read(fresh, "before") == before
    with pytest.raises(WrongKey):
        Repository.open(open_backend(s3_url), REVOKED)


def test_rewrite_after_revoke_takes_old_data_from_the_old_master_key(repo: Repository) -> None:
    from pgdr.repo.rekey import rewrite

    before = os.urandom(200_000)
    store(repo, "before", before)
    m1 = repo.master
    assert m1 is not None
    change_master_key(repo, PASS, "initial")
    rep = rewrite(repo)
    assert rep.remaining == {} and rep.manifests_rewritten >= 1

    fresh = Repository.open(repo.backend, PASS)
    assert read(fresh, "before") == before and verify(fresh, read_data=True).ok
    with pytest.raises(IntegrityError, match="unknown data key"):
        holder_of(repo, m1).get_manifest("files", "before")
