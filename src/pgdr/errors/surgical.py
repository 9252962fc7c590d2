"""Errors of surgical restores: one table back, or only its deleted rows (exit codes 56-59)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class TableRestoreError(PgdrError):
    """The table cannot be restored as asked: it is not an ordinary table in the restored
    database at the target, or its columns no longer fit the live table."""

    exit_code = 56
    kind = "table-restore"


class NoPrimaryKey(TableRestoreError):
    """`--missing-rows` on a table without a primary key: "missing" cannot be decided."""

    exit_code = 57
    kind = "no-primary-key"


class TableExists(TableRestoreError):
    """`--as NAME` names a relation that exists in production: a copy never overwrites."""

    exit_code = 58
    kind = "table-exists"


class RowConflict(TableRestoreError):
    """The missing rows could not be inserted (a unique key or another constraint refused
    one); the transaction was rolled back, nothing was inserted."""

    exit_code = 59
    kind = "row-conflict"


class DumpExists(TableExists):
    """`--dump FILE` names a file that exists: a dump never overwrites."""

    kind = "dump-exists"
