"""The repository on S3 (real HTTP to the moto server) and KMS key slots."""

from __future__ import annotations

import io
import os

import pytest

from pgdr.errors import WrongKey
from pgdr.repo.keys import KmsKey
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend
from tests.fixtures.keys import PASS
from tests.fixtures.moto_server import REGION

pytestmark = pytest.mark.component


def test_round_trip_on_s3_with_kms_key_slot(
    s3_url: str, moto_endpoint: str, kms_key_id: str
) -> None:
    kms = KmsKey(kms_key_id, REGION, moto_endpoint)
    repo = Repository.init(open_backend(s3_url), kms, pack_size=1 << 20)
    data = os.urandom(3 << 20) + bytes(1 << 20)
    with BlobWriter(repo) as w:
        sd = w.store_stream(io.BytesIO(data), 64 * 1024)
        w.commit_manifest("files", "x", {}, sd.ids)
    repo.add_key(PASS, "break-glass passphrase")
    for key in (kms, PASS):
        again = Repository.open(open_backend(s3_url), key)
        m = again.get_manifest("files", "x")
        with BlobReader(again) as r:
            assert b"".join(r.iter_read(m.ref(i) for i in range(m.ref_count()))) == data
    assert verify(again, read_data=True).ok


def test_unreachable_kms_is_a_clear_kms_error(s3_url: str, moto_endpoint: str) -> None:
    import boto3

    from pgdr.errors import KmsError

    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    Repository.init(open_backend(s3_url), KmsKey(key_id, REGION, moto_endpoint))
    with pytest.raises(WrongKey):
        Repository.open(open_backend(s3_url), PASS)  # no passphrase slot
    from tests.fixtures.moto_server import _free_port

    dead = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(KmsError, match="cannot reach KMS"):
        Repository.open(open_backend(s3_url), KmsKey(key_id, REGION, dead))
