"""``--missing-rows``: the rows the table had at the target and has no longer, by primary
key, inserted into the live table in one transaction. A row whose key is there (changed
since, or never deleted) is left alone, so later writes are untouched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from pgdr.errors import NoPrimaryKey, RowConflict, TableRestoreError
from pgdr.surgical import ddl
from pgdr.surgical.names import quote
from pgdr.surgical.shape import count_rows
from pgdr.surgical.stream import copy_rows

#: The temporary table in production that holds the rows at the target for the anti-join
#: (dropped at commit; a temporary table is private to the session).
STAGED = "pgdr_rows_at_target"


@dataclass
class MissingOutcome:
    table: str
    key: list[str]
    rows_at_target: int
    rows_before: int
    inserted: int
    rows_after: int


def check_live(live: ddl.Shape) -> None:
    """The live table must have a primary key: without one, "the rows that are missing"
    has no answer (duplicates are legal) — refused before anything is restored."""
    if not live.primary_key:
        raise NoPrimaryKey(
            f"{live.table} has no primary key: --missing-rows cannot tell which rows are missing",
            hint="restore it beside the live table with --as NAME and compare there",
        )


def insert_missing(
    sandbox: psycopg.Connection[Any],
    prod: psycopg.Connection[Any],
    at_target: ddl.Shape,
    live: ddl.Shape,
    staged: str = STAGED,
) -> MissingOutcome:
    """``staged``: the temporary table's name — one per table when several tables go back
    in one enclosing transaction (each is dropped at its commit)."""
    check_live(live)
    gone = ddl.live_columns_missing(at_target, [c.name for c in live.columns])
    if gone:
        raise TableRestoreError(
            f"{live.table} no longer has column(s) {', '.join(gone)} it had at the target: "
            "its rows cannot go back whole",
            hint="restore it beside the live table with --as NAME instead",
        )
    absent_key = [k for k in live.primary_key if k not in {c.name for c in at_target.columns}]
    if absent_key:
        raise TableRestoreError(
            f"the primary key column(s) {', '.join(absent_key)} of {live.table} did not exist "
            "at the target"
        )
    generated = {c.name for c in live.columns if c.generated}
    columns = [c.name for c in at_target.columns if c.name not in generated]
    overriding = any(c.identity == "a" for c in live.columns if c.name in columns)
    with prod.transaction():
        prod.execute(ddl.staged_table(staged, at_target, columns))  # type: ignore[arg-type]
        at_t = copy_rows(sandbox, at_target.table, prod, f"pg_temp.{quote(staged)}", columns)
        # Staged first, then writers wait only for the anti-join and the insert: a key
        # written meanwhile cannot slip in between them and fail the insert.
        prod.execute("SET LOCAL lock_timeout = '60s'")
        prod.execute(f"LOCK TABLE {live.table} IN SHARE ROW EXCLUSIVE MODE")  # type: ignore[arg-type]
        before = count_rows(prod, live.table)
        sql = ddl.insert_missing(live.table, staged, columns, live.primary_key, overriding)
        try:
            with prod.transaction():
                inserted = prod.execute(sql).rowcount  # type: ignore[arg-type]
        except psycopg.errors.IntegrityError as e:
            raise RowConflict(
                f"a row of {live.table} at the target conflicts with the live table: "
                f"{str(e).strip().splitlines()[0]}; nothing was inserted"
            ) from None
        after = count_rows(prod, live.table)
    return MissingOutcome(str(live.table), list(live.primary_key), at_t, before, inserted, after)
