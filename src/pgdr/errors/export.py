"""Errors of long-term exports (exit codes 65-68)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class ExportError(PgdrError):
    """Any other export error."""

    exit_code = 65
    kind = "export"


class UnsafeExportManifest(ExportError):
    """An export's ``_manifest.json`` breaks the format: a path outside its table, a wrong type,
    a missing key. The exports target is untrusted input: nothing of it is used."""

    exit_code = 66
    kind = "export-manifest"


class ExportDamaged(ExportError):
    """`pgdr export verify` found damage: a checksum, row count or schema that differs from the
    manifest, a missing part or a missing ``_SUCCESS``."""

    exit_code = 67
    kind = "export-damaged"


class ExportNotFound(ExportError):
    """No export with that id under the exports target."""

    exit_code = 68
    kind = "export-not-found"
