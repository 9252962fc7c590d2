"""Data-key rotation (old data stays readable) and `repo rekey --rewrite` (everything
re-encrypted under the current key, proven by opening every object with that key alone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pgdr.catalog.wal import read as read_wal
from pgdr.errors import UsageError
from pgdr.pg.wal_header import fake_segment
from pgdr.repo import format as fmt
from pgdr.repo.envelope import Sealer, key_id_of
from pgdr.repo.format import ObjectType
from pgdr.repo.pack import scan_pack
from pgdr.repo.rekey import remaining_old, rewrite, rotate_data_key
from pgdr.repo.repository import INDEX_CONTEXT, Repository
from pgdr.repo.verify import verify
from pgdr.wal.archive import push
from tests.fixtures.blobs import keys, read, store
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component


def test_rotation_keeps_old_data_readable_and_rewrite_retires_the_old_key(
    repo: Repository, tmp_path: Path
) -> None:
    a = os.urandom(2 << 20)
    store(repo, "a", a)
    seg = tmp_path / "000000010000000000000001"
    seg.write_bytes(fake_segment(seg.name, 7312345678901234567, body=os.urandom(4096) * 16))
    push(repo, seg)
    old = repo.sealer.current_key_id

    rot = rotate_data_key(repo)
    assert rot.previous_key_id == old.hex() and rot.keys == 2
    b = os.urandom(1 << 20)
    store(repo, "b", b)  # sealed with the new key
    again = Repository.open(repo.backend, PASS)
    assert again.sealer.current_key_id.hex() == rot.new_key_id
    assert read(again, "a") == a and read(again, "b") == b  # old data still opens
    # manifests: the file set and the cluster record the first WAL push wrote
    assert remaining_old(again) == {"pack": 2, "index": 1, "manifest": 2, "wal": 1}

    rep = rewrite(again)
    assert rep.manifests_rewritten == 2 and rep.wal_rewritten == 1
    assert rep.gc is not None and rep.gc.packs_repacked == 2 and rep.gc.complete
    assert rep.remaining == {}

    # Proof: a sealer that knows only the current key opens every object.
    current = again.sealer.current_key_id
    assert again.keyring is not None
    only = Sealer({current: again.keyring.keys[current]}, current)
    b_ = again.backend
    for key in keys(again, fmt.MANIFESTS_PREFIX):
        only.open(b_.get(key), key.encode(), key, ObjectType.MANIFEST)
    for key in keys(again, fmt.WAL_PREFIX):
        assert key_id_of(b_.get(key), key) == current
        only.open(b_.get(key), key.encode(), key, ObjectType.WAL)
    for key in keys(again, fmt.INDEX_PREFIX):
        only.open(b_.get(key), INDEX_CONTEXT, key, ObjectType.INDEX)
    blobs = 0
    for key in keys(again, fmt.DATA_PREFIX):
        data = b_.get(key)
        for rec in scan_pack(data, key):
            env = memoryview(data)[rec.offset : rec.offset + rec.length]
            only.open(env, rec.blob_id, key, ObjectType.BLOB)
            blobs += 1
    assert blobs == 48
    fresh = Repository.open(repo.backend, PASS)
    assert verify(fresh, read_data=True).ok
    assert read(fresh, "a") == a and read(fresh, "b") == b
    assert read_wal(fresh, seg.name) == seg.read_bytes()


def test_unencrypted_repository_has_no_data_key(backend) -> None:  # type: ignore[no-untyped-def]
    repo = Repository.init(backend, None, unencrypted=True)
    with pytest.raises(UsageError, match="no data keys"):
        rotate_data_key(repo)
    with pytest.raises(UsageError, match="no data keys"):
        rewrite(repo)
