"""The exports target: plain objects under ``[exports] url`` + ``prefix`` (docs/design.md §8j).

Not the deduplicated repository: every object is a file an analyst's tool reads as is. Writes
go through the ``pgdr.storage`` backends (atomic put, retries, S3 storage class and SSE-KMS on
every upload); this module speaks the export's words on top of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from pgdr.errors import ExportNotFound, ObjectNotFound, UsageError
from pgdr.export.manifest import (
    EXPORT_ID,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    SUCCESS_NAME,
    ExportManifest,
    parse,
    success_matches,
)
from pgdr.export.settings import ExportSettings
from pgdr.storage import Backend, ObjectInfo, StorageOptions, open_backend


@dataclass(frozen=True)
class ExportListing:
    export_id: str
    #: ``_SUCCESS`` present and equal to the manifest's SHA-256.
    complete: bool
    objects: int
    bytes: int
    modified: datetime | None


class ExportTarget:
    """Objects of exports: ``<export_id>/...`` relative to the target's root."""

    def __init__(self, backend: Backend, prefix: str = "") -> None:
        self.backend = backend
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @property
    def url(self) -> str:
        return self.backend.url + (f"/{self.prefix.rstrip('/')}" if self.prefix else "")

    def key(self, export_id: str, relative: str) -> str:
        return f"{self.prefix}{export_id}/{relative}"

    def put(self, export_id: str, relative: str, data: bytes | BinaryIO) -> None:
        self.backend.put(self.key(export_id, relative), data)

    def get(self, export_id: str, relative: str) -> bytes:
        return self.backend.get(self.key(export_id, relative))

    def stat(self, export_id: str, relative: str) -> ObjectInfo | None:
        return self.backend.stat(self.key(export_id, relative))

    def objects(self, export_id: str) -> Iterator[ObjectInfo]:
        """Every object of one export, keys relative to the export directory."""
        base = self.key(export_id, "")
        for info in self.backend.list(base):
            yield ObjectInfo(info.key[len(base) :], info.size, info.modified)

    def delete(self, export_id: str, relative: str) -> None:
        self.backend.delete(self.key(export_id, relative))

    def manifest_bytes(self, export_id: str) -> bytes:
        check_export_id(export_id)
        info = self.stat(export_id, MANIFEST_NAME)
        if info is None:
            raise ExportNotFound(f"no export {export_id} with a manifest at {self.url}")
        if info.size > MAX_MANIFEST_BYTES:
            return b"x" * (MAX_MANIFEST_BYTES + 1)  # parse refuses it by size, unread
        return self.get(export_id, MANIFEST_NAME)

    def manifest(self, export_id: str) -> ExportManifest:
        return parse(self.manifest_bytes(export_id))

    def is_complete(self, export_id: str) -> bool:
        try:
            raw = self.manifest_bytes(export_id)
            return success_matches(raw, self.get(export_id, SUCCESS_NAME)[:256])
        except (ExportNotFound, ObjectNotFound):
            return False

    def exports(self, known: dict[tuple[str, int, int], bool] | None = None) -> list[ExportListing]:
        """Every export id under the target (complete or not), oldest first. ``known``
        caches completeness by (id, objects, bytes) across calls (the daemon lists every
        minute): an export found complete is not read again until its objects change."""
        found: dict[str, list[ObjectInfo]] = {}
        for info in self.backend.list(self.prefix):
            head, _, _ = info.key[len(self.prefix) :].partition("/")
            if EXPORT_ID.match(head):
                found.setdefault(head, []).append(info)
        out = []
        for export_id, infos in sorted(found.items()):
            times = [i.modified for i in infos if i.modified is not None]
            sig = (export_id, len(infos), sum(i.size for i in infos))
            complete = (known or {}).get(sig) or self.is_complete(export_id)
            if known is not None and complete:
                known[sig] = True
            out.append(
                ExportListing(
                    export_id,
                    complete,
                    len(infos),
                    sum(i.size for i in infos),
                    max(times) if times else None,
                )
            )
        return out

    def close(self) -> None:
        self.backend.close()


def check_export_id(export_id: str) -> str:
    if not EXPORT_ID.match(export_id):
        raise UsageError(f"{export_id!r} is not an export id (YYYYMMDDTHHMMSSZ-xxxxxx)")
    return export_id


def open_target(settings: ExportSettings) -> ExportTarget:
    if not settings.url:
        raise UsageError("no exports target: set [exports] url (file:///… or s3://bucket/prefix)")
    s3 = settings.s3
    options = StorageOptions(
        endpoint=s3.endpoint,
        region=s3.region,
        path_style=s3.path_style,
        access_key_id=s3.access_key_id.resolve() if s3.access_key_id else None,
        secret_access_key=s3.secret_access_key.resolve() if s3.secret_access_key else None,
        sse_kms_key_id=settings.sse_kms_key_id or s3.sse_kms_key_id,
        storage_class=settings.storage_class or s3.storage_class,
    )
    return ExportTarget(open_backend(settings.url, options), settings.prefix)
