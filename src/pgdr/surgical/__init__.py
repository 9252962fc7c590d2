"""Surgical restores (docs/design.md §8m): one table back from a point in time, as a copy
beside the live one (``--as``) or as only the rows deleted since (``--missing-rows``).

The backup is restored into a drill-style sandbox (``pgdr.drill.sandbox``) at the target and
the table is streamed from there into production with COPY; the sandbox is always removed.
Pure decisions (names, DDL rewriting, which rows count as missing) live in ``names`` and
``ddl``; the SQL that reads a table's shape in ``shape``; the streaming in ``stream``; the two
actions in ``copy_as`` and ``missing``; the sandbox's lifecycle in ``run``."""
