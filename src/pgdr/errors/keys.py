"""Errors of keys, key slots and the pinned repository identity (exit codes 40-45)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class KeyProblem(PgdrError):
    exit_code = 40
    kind = "key"


class WrongKey(KeyProblem):
    exit_code = 41
    kind = "wrong-key"


class KeyMissing(KeyProblem):
    exit_code = 42
    kind = "key-missing"


class KmsError(KeyProblem):
    exit_code = 43
    kind = "kms"


class RepositoryIdentityChanged(KeyProblem):
    """The repository id or the fingerprint of its master key differs from what this host
    pinned on first use (docs/design.md §5): a replaced repository is never used silently.
    `pgdr repo trust` accepts a legitimately new one."""

    exit_code = 44
    kind = "identity-changed"


class KdfOutOfBounds(KeyProblem):
    """A key slot asks for KDF parameters outside pgdr's bounds (damaged or forged): refused
    before the KDF runs, so a planted slot cannot make every open slow or memory-hungry."""

    exit_code = 45
    kind = "kdf-out-of-bounds"
