"""The root of the error hierarchy and the errors of no particular subsystem."""

from __future__ import annotations


class PgdrError(Exception):
    """Base of every error pgdr reports to an operator."""

    exit_code: int = 1
    retryable: bool = False
    #: Short machine-readable name used in --json output.
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(PgdrError):
    exit_code = 2
    kind = "usage"


class ConfigError(PgdrError):
    exit_code = 2
    kind = "config"


class CheckFailed(PgdrError):
    """`pgdr check` found a critical problem in the archive chain."""

    exit_code = 3
    kind = "check-failed"


class Interrupted(PgdrError):
    exit_code = 130
    kind = "interrupted"
