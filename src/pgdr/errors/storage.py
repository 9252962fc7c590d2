"""Errors a storage backend raises (exit codes 20-26)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class StorageError(PgdrError):
    exit_code = 20
    kind = "storage"


class StorageUnreachable(StorageError):
    exit_code = 21
    retryable = True
    kind = "storage-unreachable"


class StoragePermissionDenied(StorageError):
    exit_code = 22
    kind = "permission-denied"


class ObjectNotFound(StorageError):
    exit_code = 23
    kind = "not-found"


class ObjectLocked(StorageError):
    exit_code = 24
    kind = "object-locked"


class ObjectExists(StorageError):
    """``put_new`` found the key already taken: the existing object was left as it was."""

    kind = "object-exists"


class StorageFull(StorageError):
    exit_code = 25
    retryable = True
    kind = "storage-full"


class TransientStorageError(StorageError):
    """A backend hiccup (5xx, throttling, reset connection) worth retrying."""

    exit_code = 26
    retryable = True
    kind = "storage-transient"
