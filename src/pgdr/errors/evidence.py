"""Errors of game days (exit codes 120-123): a rehearsal whose precondition is broken
names the precondition, so the operator knows what to repair before the real disaster."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class GamedayFailed(PgdrError):
    """A game day ran and its recovery failed (the drill it implies did not pass)."""

    exit_code = 120
    kind = "gameday-failed"


class ReplicaNotRestorable(GamedayFailed):
    """Region failure: no replica, or an empty, uninitialized or stale one."""

    exit_code = 121
    kind = "replica-not-restorable"


class ObjectLockOff(GamedayFailed):
    """Malicious deletion: Object Lock is off, shorter than the window, or a delete went through."""

    exit_code = 122
    kind = "object-lock-off"


class RecoveryKeyUnreachable(GamedayFailed):
    """Complete loss: the key material that opens the repository is not reachable."""

    exit_code = 123
    kind = "recovery-key-unreachable"
