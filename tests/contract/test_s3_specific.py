"""What only S3 has: Object Lock, SSE-KMS, storage classes, and network failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pgdr.errors import ObjectLocked, StorageError, StorageUnreachable
from pgdr.storage import StorageOptions, open_backend
from pgdr.storage.base import PutOptions
from tests.fixtures.moto_server import _free_port

pytestmark = pytest.mark.contract


def test_object_lock_headers_and_locked_delete_is_refused(s3_locked_url: str) -> None:
    b = open_backend(
        s3_locked_url, StorageOptions(object_lock_mode="COMPLIANCE", object_lock_days=40)
    )
    b.put("data/00/locked", b"immutable")
    head = b.head("data/00/locked")  # type: ignore[attr-defined]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retain = head["ObjectLockRetainUntilDate"]
    assert retain > datetime.now(UTC) + timedelta(days=39)
    with pytest.raises(ObjectLocked, match="Object Lock"):
        b.delete("data/00/locked")
    assert b.get("data/00/locked") == b"immutable"


def test_per_object_retain_until(s3_locked_url: str) -> None:
    b = open_backend(s3_locked_url, StorageOptions(object_lock_mode="GOVERNANCE"))
    until = datetime.now(UTC) + timedelta(days=3)
    b.put("x", b"1", PutOptions(retain_until=until))
    head = b.head("x")  # type: ignore[attr-defined]
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - until).total_seconds()) < 2


def test_sse_kms_and_storage_class(s3_url: str, kms_key_id: str) -> None:
    b = open_backend(s3_url, StorageOptions(sse_kms_key_id=kms_key_id, storage_class="STANDARD_IA"))
    b.put("enc", b"secret")
    head = b.head("enc")  # type: ignore[attr-defined]
    assert head["ServerSideEncryption"] == "aws:kms"
    assert kms_key_id in head["SSEKMSKeyId"]
    assert head["StorageClass"] == "STANDARD_IA"
    assert b.get("enc") == b"secret"


def test_unreachable_endpoint_fails_fast_with_one_clear_error() -> None:
    port = _free_port()  # nothing listens there
    opts = StorageOptions(retries=2, retry_base_delay=0.01, connect_timeout=1)
    b = open_backend(f"s3://bucket/p?endpoint=http://127.0.0.1:{port}&region=us-east-1", opts)
    t = time.monotonic()
    with pytest.raises(StorageUnreachable, match=f"127.0.0.1:{port}"):
        b.stat("config")
    assert time.monotonic() - t < 15


def test_missing_bucket_is_named(moto_endpoint: str) -> None:
    b = open_backend(
        f"s3://no-such-bucket/p?endpoint={moto_endpoint}&region=us-east-1&path_style=true"
    )
    with pytest.raises(StorageError, match="no-such-bucket"):
        list(b.list())


def test_an_endpoint_that_never_answers_fails_within_the_operation_deadline(
    silent_endpoint: str,
) -> None:
    opts = StorageOptions(
        operation_timeout=2,
        retries=5,
        retry_base_delay=0.01,
        access_key_id="testing",
        secret_access_key="testing",
    )
    b = open_backend(f"s3://bucket/p?endpoint={silent_endpoint}&region=us-east-1", opts)
    t = time.monotonic()
    with pytest.raises(StorageUnreachable, match=f"{silent_endpoint} did not answer"):
        b.put("data/00/pack", b"x" * 1000)
    assert time.monotonic() - t < 4
