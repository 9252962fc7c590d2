"""Storage backends and the one place they are composed with wrappers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

from pgdr.errors import UsageError
from pgdr.storage.base import Backend, ObjectInfo, PutOptions
from pgdr.storage.deadline import DeadlineBackend
from pgdr.storage.wrappers import FaultPlan, FaultyBackend, LimitedBackend, RetryingBackend

__all__ = ["Backend", "ObjectInfo", "PutOptions", "StorageOptions", "open_backend"]


@dataclass(frozen=True)
class StorageOptions:
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    object_lock_mode: str | None = None
    #: Retain-until = write time + this many days (fractions allowed: tests use seconds).
    object_lock_days: float | None = None
    multipart_threshold: int = 64 << 20
    multipart_chunksize: int = 16 << 20
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 5
    #: Longest one operation may take, retries included (a hung endpoint fails in bounded
    #: time); boto's connect/read timeouts are capped by it.
    operation_timeout: float = 300.0
    #: An absolute ``time.monotonic()`` by which every operation must have ended: a whole
    #: command's budget (``[wal] push_timeout_s`` for archive_command).
    deadline: float | None = None
    retry_base_delay: float = 0.2
    retry_max_delay: float = 10.0
    concurrency: int = 16
    #: Fault injection for tests (pgdr.storage.wrappers.FaultPlan).
    faults: FaultPlan | None = None


def open_backend(url: str, options: StorageOptions | None = None) -> Backend:
    opts = options or StorageOptions()
    if url.startswith("/"):
        url = "file://" + url
    parts = urlsplit(url)
    base: Backend
    if parts.scheme == "mem":
        from pgdr.storage.memory import MemoryBackend

        base = MemoryBackend(parts.netloc + parts.path)
    elif parts.scheme == "file":
        from pgdr.storage.local import LocalBackend

        if not parts.path.startswith("/"):
            raise UsageError(f"file:// URLs need an absolute path: {url}")
        base = LocalBackend(parts.path)
    elif parts.scheme == "s3":
        from pgdr.storage.s3 import S3Backend

        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if "endpoint" in q:
            opts = replace(opts, endpoint=q["endpoint"])
        if "region" in q:
            opts = replace(opts, region=q["region"])
        if "path_style" in q:
            opts = replace(opts, path_style=q["path_style"].lower() in ("1", "true", "yes"))
        base = S3Backend(parts.netloc, parts.path.strip("/"), opts)
    else:
        raise UsageError(f"unsupported repository URL {url!r}: use file://, s3:// or mem://")
    # The one place wrappers are composed: faults (tests) -> retry -> deadline (network
    # backends: a local disk is bounded by the kernel) -> concurrency limit.
    wrapped: Backend = base
    if opts.faults is not None:
        wrapped = FaultyBackend(wrapped, opts.faults)
    wrapped = RetryingBackend(
        wrapped,
        opts.retries,
        opts.retry_base_delay,
        opts.retry_max_delay,
        op_timeout=opts.operation_timeout,
        deadline=opts.deadline,
    )
    if parts.scheme == "s3":
        wrapped = DeadlineBackend(wrapped, opts.operation_timeout, opts.deadline)
    return LimitedBackend(wrapped, opts.concurrency)
