"""Errors of reading exports back: lifecycle tiers, restore from archive classes
(exit codes 110-113)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class LifecyclePlanInvalid(PgdrError):
    """`export lifecycle plan|apply`: the configured tiers break one of S3's lifecycle rules
    (named); nothing was sent to S3."""

    exit_code = 110
    kind = "lifecycle-invalid"


class LifecycleDrift(PgdrError):
    """`export lifecycle check`: the bucket's lifecycle rules differ from the plan."""

    exit_code = 111
    kind = "lifecycle-drift"


class ArchivedObjectsPending(PgdrError):
    """`export restore`: files sit in Glacier / Deep Archive; a restore was requested (or is
    running). Run the same command again once S3 has copied them back."""

    exit_code = 112
    retryable = True
    kind = "archived-objects-pending"


class TableExists(PgdrError):
    """`export restore`: the target table exists already; nothing was written."""

    exit_code = 113
    kind = "table-exists"
