"""The SQL of a table restore, built from a table's shape as read from the sandbox — pure
functions, so what a copy keeps and drops is decided (and table-tested) in one place.

What ``--as`` recreates on the copy (docs/design.md §8m): every column with its type and NOT
NULL; defaults except sequence defaults (``nextval``: the sequence belongs to the original,
and may be gone with it); identity and generated columns become plain columns holding the
values of the time restored to; then every index and every constraint of the original
under a derived name, each on its own (a clash or a constraint production refuses skips
that one, named), except foreign keys that reference the original table itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pgdr.surgical.names import TableName, derived, quote


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type(atttypid, atttypmod)
    not_null: bool = False
    default: str | None = None  # pg_get_expr(adbin, adrelid)
    identity: str = ""  # '' | 'a' (ALWAYS) | 'd' (BY DEFAULT)
    generated: str = ""  # '' | 's' (STORED)


@dataclass(frozen=True)
class Index:
    name: str  # as it is (unquoted)
    name_sql: str  # quote_ident(name): as pg_get_indexdef prints it
    definition: str  # pg_get_indexdef(indexrelid)


@dataclass(frozen=True)
class Constraint:
    name: str
    type: str  # p u f c x (pg_constraint.contype)
    definition: str  # pg_get_constraintdef(oid)
    self_reference: bool = False  # a foreign key to the table itself
    #: A foreign key's referenced table, and its name as ``definition`` prints it
    #: (``confrelid::regclass``: qualified only when not on the search path, like the
    #: definition); None for other constraints.
    references: TableName | None = None
    references_sql: str | None = None


@dataclass(frozen=True)
class Shape:
    """An ordinary table as the sandbox has it: enough to copy it and to compare it."""

    table: TableName
    table_sql: str  # quote_ident(schema).quote_ident(name): as pg_get_indexdef prints it
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()  # those not made by a constraint
    constraints: tuple[Constraint, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One piece of DDL for the copy, with what it recreates (for the report)."""

    what: str
    sql: str


def column_list(names: Sequence[str]) -> str:
    return ", ".join(quote(n) for n in names)


def _column_sql(c: Column) -> str:
    text = f"{quote(c.name)} {c.type}"
    if c.default is not None and not c.identity and not c.generated and "nextval(" not in c.default:
        text += f" DEFAULT {c.default}"
    return text + (" NOT NULL" if c.not_null else "")


def create_table(new: TableName, shape: Shape) -> str:
    return f"CREATE TABLE {new} ({', '.join(_column_sql(c) for c in shape.columns)})"


def dropped_defaults(shape: Shape) -> list[str]:
    """Columns whose default, identity or generation the copy does not keep (named in the
    report): their values are copied, the way new values would be made is not."""
    out = []
    for c in shape.columns:
        if c.identity:
            out.append(f"{c.name} (identity)")
        elif c.generated:
            out.append(f"{c.name} (generated)")
        elif c.default is not None and "nextval(" in c.default:
            out.append(f"{c.name} (sequence default)")
    return out


def index_on(ix: Index, shape: Shape, new: TableName) -> str | None:
    """``ix``'s definition for the copy: the same method, keys, INCLUDE and WHERE, on the
    copy under a derived name. None when the definition is not in the form PostgreSQL
    prints (it then is not rewritten by guessing)."""
    for unique in ("UNIQUE ", ""):
        for only in ("ONLY ", ""):
            head = f"CREATE {unique}INDEX {ix.name_sql} ON {only}{shape.table_sql} USING "
            if ix.definition.startswith(head):
                rest = ix.definition[len(head) :]
                name = quote(derived(new.name, ix.name))
                return f"CREATE {unique}INDEX {name} ON {new} USING {rest}"
    return None


def constraint_on(
    con: Constraint, new: TableName, copies: Mapping[TableName, TableName] | None = None
) -> str:
    """``con`` on the copy ``new``; a foreign key to a table restored beside it (in
    ``copies``: original -> copy) points at that table's copy instead."""
    definition = con.definition
    target = copies.get(con.references) if copies and con.references is not None else None
    if target is not None and con.references_sql is not None:
        printed = f" REFERENCES {con.references_sql}("
        if printed in definition:
            definition = definition.replace(printed, f" REFERENCES {target}(", 1)
    return f"ALTER TABLE {new} ADD CONSTRAINT {quote(derived(new.name, con.name))} {definition}"


def copy_statements(
    shape: Shape, new: TableName, copies: Mapping[TableName, TableName] | None = None
) -> tuple[list[Statement], list[str]]:
    """The indexes and constraints to recreate on the copy, in an order that works (keys
    before the foreign keys of other tables could need them; checks last), and what is left
    out and why. ``copies`` (original -> copy) are the tables restored with it: their
    foreign keys point at each other's copies."""
    todo: list[Statement] = []
    left_out: list[str] = []
    order = {"p": 0, "u": 1, "x": 2, "f": 3, "c": 4}
    for con in sorted(shape.constraints, key=lambda c: (order.get(c.type, 9), c.name)):
        if con.self_reference:
            left_out.append(f"constraint {con.name}: a foreign key to the original table itself")
            continue
        todo.append(Statement(f"constraint {con.name}", constraint_on(con, new, copies)))
    for ix in sorted(shape.indexes, key=lambda i: i.name):
        sql = index_on(ix, shape, new)
        if sql is None:
            left_out.append(f"index {ix.name}: definition not understood")
            continue
        todo.append(Statement(f"index {ix.name}", sql))
    return todo, left_out


def live_columns_missing(shape: Shape, live: Sequence[str]) -> list[str]:
    """Columns of the table at the target that the live table no longer has: the rows could
    not go back whole."""
    have = set(live)
    return [c.name for c in shape.columns if c.name not in have]


def staged_table(name: str, shape: Shape, columns: Sequence[str]) -> str:
    types = {c.name: c.type for c in shape.columns}
    cols = ", ".join(f"{quote(c)} {types[c]}" for c in columns)
    return f"CREATE TEMPORARY TABLE {quote(name)} ({cols}) ON COMMIT DROP"


def insert_missing(
    live: TableName, staged: str, columns: Sequence[str], key: Sequence[str], overriding: bool
) -> str:
    """Rows of ``staged`` whose primary key the live table does not hold, inserted into it.
    A row that is there (changed since, or never deleted) is left alone."""
    cols = column_list(columns)
    match = " AND ".join(f"l.{quote(k)} = s.{quote(k)}" for k in key)
    over = " OVERRIDING SYSTEM VALUE" if overriding else ""
    return (
        f"INSERT INTO {live} ({cols}){over} SELECT {', '.join(f's.{quote(c)}' for c in columns)} "
        f"FROM pg_temp.{quote(staged)} s WHERE NOT EXISTS (SELECT 1 FROM {live} l WHERE {match})"
    )
