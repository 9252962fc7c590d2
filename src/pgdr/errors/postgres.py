"""Errors of PostgreSQL and of the cluster a repository belongs to (exit codes 50-55)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class PostgresError(PgdrError):
    exit_code = 50
    kind = "postgres"


class RecoveryTargetUnreachable(PostgresError):
    """A restore target the archived WAL cannot reach: refused while planning (a time in the
    future or after the newest archived WAL, an LSN past its end), or PostgreSQL's own
    "recovery ended before configured recovery target was reached"."""

    exit_code = 51
    kind = "target-unreachable"


class ServerExited(PostgresError):
    """A server pgdr started (restore --start, a drill sandbox) exited while pgdr waited for
    it; the message carries its FATAL/PANIC line from the server log."""

    exit_code = 52
    kind = "server-exited"


class ClusterMismatch(PgdrError):
    """A cluster other than the one whose system identifier the repository recorded tried
    to archive WAL into it, back up into it, or be checked against it."""

    exit_code = 55
    kind = "cluster-mismatch"
