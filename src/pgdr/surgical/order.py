"""The order several tables' missing rows go back in: a table a foreign key points at before
the tables whose rows point at it, so every insert finds its parent rows already there (the
whole set is one transaction, and foreign keys are checked per statement). Pure.

Only foreign keys between the tables given count (a key to a table not restored points at
rows production has or lacks anyway); one pointing at its own table is satisfied within the
single insert of that table. Tables no key relates keep the operator's order. Keys that form
a cycle among the tables have no such order: refused, naming the cycle."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pgdr.errors import TableRestoreError
from pgdr.surgical.names import TableName


def parents_first(
    tables: Sequence[TableName], keys: Iterable[tuple[TableName, TableName]]
) -> list[TableName]:
    """``tables`` reordered so that for every ``(child, parent)`` key among them the parent
    comes first; otherwise the given order (a stable topological sort)."""
    parents: dict[TableName, set[TableName]] = {t: set() for t in tables}
    for child, parent in keys:
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    out: list[TableName] = []
    placed: set[TableName] = set()
    while len(out) < len(tables):
        ready = [t for t in tables if t not in placed and parents[t] <= placed]
        if not ready:
            raise TableRestoreError(
                "the foreign keys of "
                + ", ".join(str(t) for t in tables if t not in placed)
                + f" form a cycle ({_cycle(parents, placed)}): their missing rows have no "
                "order to go back in",
                hint="restore them beside the live tables with --as and compare there",
            )
        out.append(ready[0])
        placed.add(ready[0])
    return out


def _cycle(parents: dict[TableName, set[TableName]], placed: set[TableName]) -> str:
    """One cycle among the tables left, as ``a -> b -> a`` (child -> the table it points at)."""
    start = next(t for t in parents if t not in placed)
    path = [start]
    while True:
        nxt = min((p for p in parents[path[-1]] if p not in placed), key=str)
        if nxt in path:
            loop = [*path[path.index(nxt) :], nxt]
            return " -> ".join(str(t) for t in loop)
        path.append(nxt)
