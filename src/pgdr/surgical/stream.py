"""Rows from one server to another with COPY, streamed: what the source sends is written to
the destination as it arrives, in binary format — no temporary file, no row in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from pgdr.surgical.ddl import column_list
from pgdr.surgical.names import TableName


def copy_rows(
    source: psycopg.Connection[Any],
    table: TableName,
    dest: psycopg.Connection[Any],
    into: str,
    columns: Sequence[str],
) -> int:
    """COPY ``columns`` of ``table`` on ``source`` into the relation ``into`` (SQL text) on
    ``dest`` (inside the caller's transaction there). Returns the rows copied. Binary COPY
    needs equal column types on both sides: the destination is made from the source's."""
    cols = column_list(columns)
    out_sql = f"COPY (SELECT {cols} FROM {table}) TO STDOUT (FORMAT binary)"
    in_sql = f"COPY {into} ({cols}) FROM STDIN (FORMAT binary)"
    with source.cursor() as scur, dest.cursor() as dcur:
        with scur.copy(out_sql) as out, dcur.copy(in_sql) as inp:  # type: ignore[arg-type]
            for chunk in out:
                inp.write(chunk)
        # COPY FROM's command tag ("COPY n") is the cursor's rowcount once the copy ended
        return int(dcur.rowcount)
