"""A complete export opened for reading back: its manifest, only once ``_SUCCESS`` vouches
for it, and where its files lie for tools that read them in place."""

from __future__ import annotations

from urllib.parse import urlsplit

from pgdr.errors import ExportError
from pgdr.export.manifest import SUCCESS_NAME, ExportManifest, parse, success_matches
from pgdr.export.target import ExportTarget, check_export_id


def complete_manifest(target: ExportTarget, export_id: str) -> ExportManifest:
    """The parsed manifest of a complete export; ExportError (65) when ``_SUCCESS`` is
    missing or does not match the manifest (an interrupted or damaged export)."""
    check_export_id(export_id)
    raw = target.manifest_bytes(export_id)
    success = target.stat(export_id, SUCCESS_NAME)
    # the very bytes parsed below are the ones _SUCCESS vouches for
    if success is None or not success_matches(raw, target.get(export_id, SUCCESS_NAME)[:256]):
        raise ExportError(
            f"export {export_id} at {target.url} is incomplete: no _SUCCESS matching its "
            "manifest (interrupted, or still running)",
            hint="`pgdr export list` shows complete exports",
        )
    return parse(raw)


def export_location(target: ExportTarget, export_id: str) -> str:
    """The export directory as readers name it: a local path, or an s3:// URL."""
    url = f"{target.url.rstrip('/')}/{export_id}"
    parts = urlsplit(url)
    return parts.path if parts.scheme == "file" else url
