"""Errors of the repository format and its contents (exit codes 30-39)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class RepositoryError(PgdrError):
    exit_code = 30
    kind = "repository"


class NotARepository(RepositoryError):
    exit_code = 31
    kind = "not-a-repository"


class RepositoryExists(RepositoryError):
    exit_code = 32
    kind = "repository-exists"


class UnsupportedFormat(RepositoryError):
    exit_code = 33
    kind = "unsupported-format"


class IntegrityError(RepositoryError):
    """An object failed authentication or its checksum. Never returns wrong bytes."""

    exit_code = 34
    kind = "integrity"


class RepositoryLocked(RepositoryError):
    exit_code = 35
    retryable = True
    kind = "locked"


class VerifyFailed(RepositoryError):
    exit_code = 36
    kind = "verify-failed"


class WalConflict(RepositoryError):
    exit_code = 37
    kind = "wal-conflict"


class WalMissing(RepositoryError):
    exit_code = 38
    kind = "wal-missing"


class WalGap(RepositoryError):
    exit_code = 38
    kind = "wal-gap"


class UnsafeManifest(RepositoryError):
    """A manifest names an entry a restore must not create (absolute, ``..``, a link where
    PostgreSQL has none, a setuid mode ...): forged or damaged. Nothing was written."""

    exit_code = 39
    kind = "unsafe-manifest"
