"""Replication onto S3 (real HTTP to the moto server), the replica's slot wrapped by its own
KMS key — the example config's shape: primary with one KEK, replica with another."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.catalog.wal import read as read_wal
from pgdr.catalog.wal import wal_key
from pgdr.errors import WrongKey
from pgdr.pg.wal_header import fake_segment
from pgdr.replicate.follow import ReplicaLink, follow
from pgdr.replicate.plan import replica_lag
from pgdr.replicate.run import replicate
from pgdr.repo.files import fetch_files, store_files
from pgdr.repo.keys import KmsKey
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.storage import open_backend
from pgdr.wal import archive
from tests.fixtures.keys import PASS
from tests.fixtures.moto_server import REGION

pytestmark = pytest.mark.component


def test_replicate_to_s3_with_the_replicas_own_kms_key(
    tmp_path: Path, s3_url: str, moto_endpoint: str, kms_key_id: str
) -> None:
    source = Repository.init(open_backend(f"file://{tmp_path}/primary"), PASS, pack_size=256 << 10)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a").write_bytes(os.urandom(600_000))
    store_files(source, [tmp_path / "data"], "set", 64 << 10)
    kms = KmsKey(kms_key_id, REGION, moto_endpoint)

    result = replicate(source, open_backend(s3_url), kms, label="dr (kms)")
    assert result.complete and not result.problems and result.slot_added

    replica = Repository.open(open_backend(s3_url), kms)  # alone, with its own KEK
    with pytest.raises(WrongKey):
        Repository.open(open_backend(s3_url), PASS)
    fetch_files(replica, "set", tmp_path / "out")
    assert (tmp_path / "out" / "data" / "a").read_bytes() == (tmp_path / "data" / "a").read_bytes()
    assert verify(replica, read_data=True).ok

    wal = tmp_path / "000000010000000000000001"
    wal.write_bytes(fake_segment(wal.name, 7312345678901234567, body=os.urandom(1 << 15)))
    archive.push(source, wal)
    lag = replica_lag(source.backend.list(), open_backend(s3_url).list(), datetime.now(UTC))
    assert lag.objects_behind == 2 and lag.newest_wal_replica is None  # the WAL, the cluster
    assert lag.newest_wal_source == wal.name and lag.seconds_behind >= 0
    assert follow(source, [ReplicaLink("dr", open_backend(s3_url))], [wal_key(wal.name)]) == {}
    assert read_wal(replica, wal.name) == wal.read_bytes()
    lag = replica_lag(source.backend.list(), open_backend(s3_url).list(), datetime.now(UTC))
    # following copies WAL; the cluster record the first push wrote waits for a replication
    assert lag.objects_behind == 1 and lag.newest_wal_replica == wal.name
    assert str(lag.oldest_missing).startswith("manifests/cluster/")
