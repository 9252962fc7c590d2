"""s3:// — any S3-compatible object store through boto3.

Large objects go up as multipart uploads; reads use ranged GETs; listing paginates. With
Object Lock configured every put carries the mode and a retain-until date, and a delete
removes every version of the key (a plain delete in a versioned bucket only adds a marker),
so a locked version surfaces as ObjectLocked instead of silently surviving.
"""

from __future__ import annotations

import builtins
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from pgdr.errors import (
    ObjectExists,
    ObjectLocked,
    ObjectNotFound,
    StorageError,
    StoragePermissionDenied,
    StorageUnreachable,
    TransientStorageError,
)
from pgdr.storage.base import ObjectInfo, PutOptions

if TYPE_CHECKING:
    from pgdr.storage import StorageOptions

TRANSIENT_CODES = {
    "500",
    "502",
    "503",
    "504",
    "SlowDown",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeTooSkewed",
}


class S3Backend:
    def __init__(self, bucket: str, prefix: str, opts: StorageOptions) -> None:
        if not bucket:
            raise StorageError("s3:// URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.opts = opts
        self.url = f"s3://{bucket}/{prefix}"
        where = f" at {opts.endpoint}" if opts.endpoint else ""
        self._where = f"s3://{bucket}{where}"
        self.where = self._where  # named by the deadline wrapper's errors
        # Socket timeouts never exceed the operation's deadline; boto retries once inside an
        # attempt, RetryingBackend retries on top while the deadline leaves time.
        cfg = Config(
            region_name=opts.region,
            connect_timeout=min(opts.connect_timeout, opts.operation_timeout),
            read_timeout=min(opts.read_timeout, opts.operation_timeout),
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=max(10, opts.concurrency),
            s3={"addressing_style": "path" if opts.path_style else "auto"},
        )
        session = boto3.session.Session(
            aws_access_key_id=opts.access_key_id,
            aws_secret_access_key=opts.secret_access_key,
            aws_session_token=opts.session_token,
            region_name=opts.region,
        )
        self._s3: Any = session.client("s3", endpoint_url=opts.endpoint, config=cfg)
        self._transfer = TransferConfig(
            multipart_threshold=opts.multipart_threshold,
            multipart_chunksize=opts.multipart_chunksize,
            max_concurrency=4,
            use_threads=True,
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _fail(self, e: Exception, what: str, key: str = "") -> NoReturn:
        target = f"{self._where}/{self.prefix}{key}" if key else self._where
        if isinstance(
            e,
            EndpointConnectionError
            | ConnectTimeoutError
            | ReadTimeoutError
            | ConnectionClosedError,
        ):
            raise StorageUnreachable(f"cannot reach {self._where}: {e}") from None
        if isinstance(e, NoCredentialsError):
            raise StoragePermissionDenied(
                f"no AWS credentials to {what} {target}",
                hint="set access_key_id / secret_access_key in the config or use the AWS chain",
            ) from None
        if isinstance(e, ClientError):
            code, status = _code(e), str(_status(e) or "")
            msg = e.response.get("Error", {}).get("Message", "") or code
            if code == "NoSuchBucket":
                raise StorageError(
                    f"bucket '{self.bucket}' does not exist{self._where[len('s3://' + self.bucket) :]}"
                ) from None
            if code in _NOT_FOUND:
                raise ObjectNotFound(f"{target}: no such object") from None
            if code in (
                "AccessDenied",
                "403",
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AllAccessDisabled",
            ):
                raise StoragePermissionDenied(
                    f"permission denied: cannot {what} {target}: {msg}"
                ) from None
            if code in TRANSIENT_CODES or status.startswith("5"):
                raise TransientStorageError(
                    f"S3 error while trying to {what} {target}: {code} {msg}"
                ) from None
            raise StorageError(f"cannot {what} {target}: {code}: {msg}") from None
        if isinstance(e, BotoCoreError):
            raise TransientStorageError(f"cannot {what} {target}: {e}") from None
        raise e

    def _put_args(self, options: PutOptions | None) -> dict[str, Any]:
        args: dict[str, Any] = {}
        o = self.opts
        if o.sse_kms_key_id:
            args["ServerSideEncryption"] = "aws:kms"
            args["SSEKMSKeyId"] = o.sse_kms_key_id
        if o.storage_class:
            args["StorageClass"] = o.storage_class
        if options is not None and options.transient:
            return args  # locks and deletion plans must stay deletable
        retain = options.retain_until if options else None
        if retain is None and o.object_lock_mode and o.object_lock_days:
            retain = datetime.now(UTC) + timedelta(days=o.object_lock_days)
        if retain is not None:
            args["ObjectLockMode"] = o.object_lock_mode or "GOVERNANCE"
            args["ObjectLockRetainUntilDate"] = retain
            args["ChecksumAlgorithm"] = "SHA256"
        return args

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        args = self._put_args(options)
        try:
            if (
                isinstance(data, bytes | bytearray | memoryview)
                and len(data) < self.opts.multipart_threshold
            ):
                self._s3.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=bytes(data), **args
                )
            else:
                body = (
                    io.BytesIO(bytes(data))
                    if isinstance(data, bytes | bytearray | memoryview)
                    else data
                )
                self._s3.upload_fileobj(
                    body, self.bucket, self._key(key), ExtraArgs=args, Config=self._transfer
                )
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "write", key)
        except Exception as e:  # s3transfer wraps errors of its worker threads
            cause = e.__cause__ or e.__context__
            if isinstance(cause, ClientError | BotoCoreError):
                self._fail(cause, "write", key)
            if "S3UploadFailedError" in type(e).__name__:
                raise StorageError(f"cannot write {self._where}/{self.prefix}{key}: {e}") from None
            raise

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        """A conditional PUT (``If-None-Match: *``): S3 answers 412 when the key exists, and
        of two racing writers exactly one succeeds. Objects above the multipart threshold
        are checked with a HEAD first (S3 cannot make that pair atomic)."""
        if len(data) >= self.opts.multipart_threshold:
            if self.stat(key) is not None:
                raise ObjectExists(f"{self._where}/{self.prefix}{key} already exists; not replaced")
            self.put(key, data, options)
            return
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=bytes(data),
                IfNoneMatch="*",
                **self._put_args(options),
            )
        except (ClientError, BotoCoreError) as e:
            if (
                _code(e) in ("PreconditionFailed", "ConditionalRequestConflict")
                or _status(e) == 412
            ):
                raise ObjectExists(
                    f"{self._where}/{self.prefix}{key} already exists; not replaced"
                ) from None
            self._fail(e, "write", key)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        if length == 0:
            return b""
        args: dict[str, Any] = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            args["Range"] = f"bytes={offset}-{end}"
        try:
            resp = self._s3.get_object(Bucket=self.bucket, Key=self._key(key), **args)
            return bytes(resp["Body"].read())
        except (ClientError, BotoCoreError) as e:
            if _code(e) == "InvalidRange":
                return b""
            self._fail(e, "read", key)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            resp = self._s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as e:
            if _code(e) in _NOT_FOUND:
                return None
            self._fail(e, "stat", key)
        return ObjectInfo(key, int(resp["ContentLength"]), resp.get("LastModified"))

    def head(self, key: str) -> dict[str, Any]:
        """Raw object metadata (lock mode, retain-until, encryption) for checks and tests."""
        try:
            return dict(self._s3.head_object(Bucket=self.bucket, Key=self._key(key)))
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "stat", key)

    def retention_period(self) -> timedelta | None:
        """How long new objects are locked for; None without Object Lock."""
        o = self.opts
        if not (o.object_lock_mode and o.object_lock_days):
            return None
        return timedelta(days=o.object_lock_days)

    def retained_until(self, key: str) -> datetime | None:
        """The object's Object Lock retain-until date, None when it has none."""
        until = self.head(key).get("ObjectLockRetainUntilDate")
        return until if isinstance(until, datetime) else None

    def extend_retention(self, key: str, until: datetime) -> bool:
        """Move an object's Object Lock retain-until date later (never earlier: S3 refuses
        that in compliance mode and pgdr never wants it). False when the bucket has no lock
        configured for pgdr."""
        if not self.opts.object_lock_mode:
            return False
        try:
            self._s3.put_object_retention(
                Bucket=self.bucket,
                Key=self._key(key),
                Retention={"Mode": self.opts.object_lock_mode, "RetainUntilDate": until},
                ChecksumAlgorithm="SHA256",
            )
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "extend the retention of", key)
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        out: list[ObjectInfo] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    out.append(
                        ObjectInfo(
                            obj["Key"][len(self.prefix) :],
                            int(obj["Size"]),
                            obj.get("LastModified"),
                            obj.get("StorageClass") or "STANDARD",
                        )
                    )
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "list", prefix)
        out.sort(key=lambda o: o.key)
        return iter(out)

    def delete(self, key: str) -> None:
        full = self._key(key)
        try:
            if not (self.opts.object_lock_mode or self._versioned()):
                self._s3.delete_object(Bucket=self.bucket, Key=full)
                return
            resp = self._s3.list_object_versions(Bucket=self.bucket, Prefix=full)
            versions = [
                v
                for v in resp.get("Versions", []) + resp.get("DeleteMarkers", [])
                if v["Key"] == full
            ]
            for v in versions:
                self._s3.delete_object(Bucket=self.bucket, Key=full, VersionId=v["VersionId"])
        except (ClientError, BotoCoreError) as e:
            if _code(e) == "AccessDenied" and self.opts.object_lock_mode:
                raise ObjectLocked(
                    f"{self._where}/{full} is protected by Object Lock and cannot be deleted yet"
                ) from None
            self._fail(e, "delete", key)

    def hidden_objects(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Objects a delete marker hides while older versions are still retained (a delete
        without a version id in a versioned or Object Lock bucket: the object vanishes from
        listings, yet the storage keeps it). pgdr never leaves these: its deletes remove
        every version. Empty for an unversioned bucket."""
        if not (self.opts.object_lock_mode or self._versioned()):
            return []
        markers: dict[str, datetime | None] = {}
        retained: dict[str, ObjectInfo] = {}
        try:
            pages = self._s3.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for m in page.get("DeleteMarkers", []):
                    if m.get("IsLatest"):
                        markers[m["Key"]] = m.get("LastModified")
                for v in page.get("Versions", []):
                    key = v["Key"][len(self.prefix) :]
                    if key not in retained:
                        retained[key] = ObjectInfo(key, int(v["Size"]), v.get("LastModified"))
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "list versions of", prefix)
        hidden = [
            retained[k[len(self.prefix) :]] for k in markers if k[len(self.prefix) :] in retained
        ]
        return sorted(hidden, key=lambda o: o.key)

    _versioning: bool | None = None

    def _versioned(self) -> bool:
        if self._versioning is None:
            try:
                resp = self._s3.get_bucket_versioning(Bucket=self.bucket)
                self._versioning = resp.get("Status") in ("Enabled", "Suspended")
            except ClientError:
                self._versioning = False
        return self._versioning

    def close(self) -> None:
        self._s3.close()


#: Error codes S3 (and its look-alikes) answer for a missing object.
_NOT_FOUND = ("NoSuchKey", "404", "NotFound")


def _code(e: Exception) -> str:
    """The error code of an S3 answer ("" for an error that is not one)."""
    return str(e.response.get("Error", {}).get("Code", "")) if isinstance(e, ClientError) else ""


def _status(e: Exception) -> int | None:
    """The HTTP status of an S3 answer (None for an error that is not one)."""
    if not isinstance(e, ClientError):
        return None
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None
