"""The storage protocol every backend implements.

A backend is a flat key/value store of immutable-by-convention objects. Keys are
'/'-separated relative paths such as ``data/3f/3fa9...``; they never start with '/'.
Backends raise only ``pgdr.errors.StorageError`` subclasses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    #: Last modification time (UTC); None where a backend cannot tell.
    modified: datetime | None = None
    #: The storage class an object store bills it under (S3 StorageClass); None where the
    #: backend has one class only (local disk, memory).
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class PutOptions:
    """Per-object write options. Backends that cannot honour one ignore it, except
    ``retain_until``: a backend without WORM support raises StorageError if it is set."""

    #: S3 Object Lock retain-until date (UTC). Mode comes from the backend's settings.
    retain_until: datetime | None = None
    #: The object is deleted by pgdr in normal operation (locks, deletion plans): never put it
    #: under Object Lock, whatever the backend's default retention.
    transient: bool = False


@runtime_checkable
class Backend(Protocol):
    """put (atomic), get (with byte range), stat, list (sorted, by prefix), delete."""

    #: Human-readable location, e.g. ``file:///var/lib/pgdr`` (no credentials).
    url: str

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        """Store ``data`` under ``key`` atomically: readers see all of it or nothing.
        When put returns, the object is durable. Overwrites an existing key."""

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        """Like put, but only if ``key`` does not exist yet: raises ObjectExists and leaves
        the existing object untouched otherwise. Names that identify something (manifests)
        are written this way, so two writers that picked the same name never lose one."""

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        """Return the object's bytes [offset, offset+length). Raises ObjectNotFound.
        A range reaching past the end is truncated at the end."""

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and time of an object, or None if it does not exist."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """All objects whose key starts with ``prefix``, sorted by key."""

    def delete(self, key: str) -> None:
        """Remove an object. Deleting a missing key is not an error.
        Raises ObjectLocked when WORM retention forbids it."""

    def close(self) -> None:
        """Release connections and threads."""
