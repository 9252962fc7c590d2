"""``--as NAME``: the table as it was at the target, created in production under a new name
beside the live one — in one transaction, never over an existing relation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgdr.errors import TableExists
from pgdr.surgical import ddl
from pgdr.surgical.names import TableName
from pgdr.surgical.shape import relation
from pgdr.surgical.stream import copy_rows


@dataclass
class CopyOutcome:
    table: str
    rows: int
    recreated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "what: why"
    not_kept: list[str] = field(default_factory=list)  # defaults, identity, generation
    source: str = ""  # the table it is a copy of, as it was at the target


def refuse_existing(prod: psycopg.Connection[Any], new: TableName) -> None:
    if relation(prod, new) is not None:
        raise TableExists(
            f"{new} already exists in production; restore table never overwrites",
            hint="choose another name with --as",
        )


def _sqlstate_line(e: psycopg.Error) -> str:
    diag = getattr(e, "diag", None)
    text = getattr(diag, "message_primary", None) or str(e).strip().splitlines()[0]
    return str(text)


def copy_as(
    sandbox: psycopg.Connection[Any],
    prod: psycopg.Connection[Any],
    shape: ddl.Shape,
    new: TableName,
    copies: Mapping[TableName, TableName] | None = None,
) -> CopyOutcome:
    """Create ``new`` in production from ``shape`` (read from the sandbox), stream the rows,
    then recreate each index and constraint under a savepoint of its own: one that clashes
    (a name taken, a foreign key production refuses) is skipped and named, the rest stay.
    ``prod`` is a connection outside a transaction; everything commits together or not at
    all."""
    out = CopyOutcome(str(new), 0, not_kept=ddl.dropped_defaults(shape), source=str(shape.table))
    with prod.transaction():
        refuse_existing(prod, new)
        prod.execute(ddl.create_table(new, shape))  # type: ignore[arg-type]
        out.rows = copy_rows(sandbox, shape.table, prod, str(new), [c.name for c in shape.columns])
        todo, left_out = ddl.copy_statements(shape, new, copies)
        out.skipped += left_out
        for st in todo:
            try:
                with prod.transaction():  # a savepoint
                    prod.execute(st.sql)  # type: ignore[arg-type]
                out.recreated.append(st.what)
            except psycopg.Error as e:
                out.skipped.append(f"{st.what}: {_sqlstate_line(e)}")
    return out
