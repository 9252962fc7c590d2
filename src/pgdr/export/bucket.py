"""The S3 calls of reading exports back that the plain object protocol (``pgdr.storage``)
has no words for: the bucket's lifecycle rules, an object's storage class and restore
state, and restore requests for objects in Glacier / Deep Archive.

The bucket and prefix come from ``[exports]`` as for the writer (``url`` + ``prefix``; the
``[exports.s3]`` endpoint, region, path style and keys override the URL's query), credentials
else from the usual AWS chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from pgdr.errors import (
    ObjectNotFound,
    StorageError,
    StoragePermissionDenied,
    StorageUnreachable,
    UsageError,
)
from pgdr.export.settings import ExportSettings


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    access_key_id: str | None = None
    secret_access_key: str | None = None


def s3_location(settings: ExportSettings) -> S3Location | None:
    """The bucket and prefix of an ``s3://`` exports target; None for any other scheme."""
    url = settings.url or ""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        return None
    if not parts.netloc:
        raise UsageError(f"s3:// URL needs a bucket: {url}")
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    s3 = settings.s3
    prefix = "/".join(p for p in (parts.path.strip("/"), settings.prefix.strip("/")) if p)
    return S3Location(
        parts.netloc,
        prefix,
        s3.endpoint or q.get("endpoint"),
        s3.region or q.get("region"),
        s3.path_style or q.get("path_style", "").lower() in ("1", "true", "yes"),
        s3.access_key_id.resolve() if s3.access_key_id else None,
        s3.secret_access_key.resolve() if s3.secret_access_key else None,
    )


@dataclass(frozen=True)
class ObjectState:
    """An object's storage class and, for archive classes, whether a GET can read it."""

    key: str
    storage_class: str
    #: None: no restore requested; True: S3 is copying it back; False: a readable copy exists.
    restore_ongoing: bool | None


class ArchivedObject(Exception):
    """A GET refused with InvalidObjectState: the object is in Glacier / Deep Archive."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


_ONGOING = re.compile(r'ongoing-request="(true|false)"')


def restore_state(header: str | None) -> bool | None:
    """head_object's ``Restore`` header: None (absent), True (ongoing), False (done)."""
    if not header:
        return None
    m = _ONGOING.search(header)
    return None if m is None else m.group(1) == "true"


class ExportBucket:
    def __init__(self, loc: S3Location) -> None:
        self.loc = loc
        self.where = f"s3://{loc.bucket}" + (f" at {loc.endpoint}" if loc.endpoint else "")
        cfg = Config(
            region_name=loc.region,
            connect_timeout=10,
            read_timeout=120,
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path" if loc.path_style else "auto"},
        )
        session = boto3.session.Session(
            aws_access_key_id=loc.access_key_id,
            aws_secret_access_key=loc.secret_access_key,
            region_name=loc.region,
        )
        self._s3: Any = session.client("s3", endpoint_url=loc.endpoint, config=cfg)

    def _fail(self, e: Exception, what: str) -> NoReturn:
        if isinstance(e, NoCredentialsError):
            raise StoragePermissionDenied(f"no AWS credentials to {what} {self.where}") from None
        if isinstance(e, ClientError):
            err = e.response.get("Error", {})
            code, msg = str(err.get("Code", "")), str(err.get("Message", ""))
            if code in ("AccessDenied", "403"):
                raise StoragePermissionDenied(f"permission denied: {what} {self.where}") from None
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(f"{what} {self.where}: no such object") from None
            raise StorageError(f"cannot {what} {self.where}: {code}: {msg}") from None
        if isinstance(e, BotoCoreError):
            raise StorageUnreachable(f"cannot {what} {self.where}: {e}") from None
        raise e

    def key(self, name: str) -> str:
        return f"{self.loc.prefix}/{name}" if self.loc.prefix else name

    # --- lifecycle -------------------------------------------------------------------------

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        try:
            resp = self._s3.get_bucket_lifecycle_configuration(Bucket=self.loc.bucket)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
                return []
            self._fail(e, "read the lifecycle of")
        except BotoCoreError as e:
            self._fail(e, "read the lifecycle of")
        return list(resp.get("Rules", []))

    def put_lifecycle_rules(self, rules: list[dict[str, Any]]) -> None:
        try:
            self._s3.put_bucket_lifecycle_configuration(
                Bucket=self.loc.bucket, LifecycleConfiguration={"Rules": rules}
            )
        except (ClientError, BotoCoreError) as e:
            self._fail(e, "set the lifecycle of")

    # --- archive classes -------------------------------------------------------------------

    def object_state(self, name: str) -> ObjectState:
        try:
            resp = self._s3.head_object(Bucket=self.loc.bucket, Key=self.key(name))
        except (ClientError, BotoCoreError) as e:
            self._fail(e, f"stat {name} in")
        return ObjectState(
            name, str(resp.get("StorageClass") or "STANDARD"), restore_state(resp.get("Restore"))
        )

    def protection(self, name: str, now: datetime) -> str | None:
        """Why S3 will not let ``name`` be deleted now: a legal hold, or Object Lock
        retention until a later date (None: deletable)."""
        try:
            resp = self._s3.head_object(Bucket=self.loc.bucket, Key=self.key(name))
        except (ClientError, BotoCoreError) as e:
            self._fail(e, f"stat {name} in")
        if resp.get("ObjectLockLegalHoldStatus") == "ON":
            return "legal hold"
        until = resp.get("ObjectLockRetainUntilDate")
        if isinstance(until, datetime) and until > now:
            return f"Object Lock retention until {until.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        return None

    def get(self, name: str) -> bytes:
        """An object's bytes; :class:`ArchivedObject` when its class needs a restore first
        (S3 answers InvalidObjectState)."""
        try:
            resp = self._s3.get_object(Bucket=self.loc.bucket, Key=self.key(name))
            return bytes(resp["Body"].read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "InvalidObjectState":
                raise ArchivedObject(name) from None
            self._fail(e, f"read {name} from")
        except BotoCoreError as e:
            self._fail(e, f"read {name} from")

    def request_restore(self, name: str, days: int, tier: str) -> bool:
        """Ask S3 to copy an archived object back for ``days`` days; False when a restore
        of it is already running (S3 answers RestoreAlreadyInProgress)."""
        try:
            self._s3.restore_object(
                Bucket=self.loc.bucket,
                Key=self.key(name),
                RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "RestoreAlreadyInProgress":
                return False
            self._fail(e, f"request the restore of {name} from")
        except BotoCoreError as e:
            self._fail(e, f"request the restore of {name} from")
        return True

    def close(self) -> None:
        self._s3.close()
