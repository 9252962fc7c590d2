"""The catalog snapshot a backup records of its source database (tables with row counts,
indexes, constraints: taken by ``pgdr.backup.session``), typed. Drills compare a restored
database with it. ``CatalogSnapshot.from_doc`` parses the stored form once, when the manifest
is read; a malformed snapshot raises ``SnapshotError``, which makes the manifest a damaged
one (``ManifestError``), never a crash in a drill. The key names live here and nowhere else (``to_doc`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The snapshot's keys (docs/design.md "Backup manifest", ``catalog``).
DATABASE, TABLES, INDEXES, CONSTRAINTS = "database", "tables", "indexes", "constraints"
SCHEMA, NAME, TABLE = "schema", "name", "table"
ROWS, ROWS_ESTIMATE, UNLOGGED = "rows", "rows_estimate", "unlogged"
TYPE, VALIDATED = "type", "validated"


class SnapshotError(ValueError):
    """A stored catalog snapshot that is malformed."""


@dataclass(frozen=True)
class TableFacts:
    schema: str
    name: str
    #: Counted exactly at backup time; None for tables too large to count (see the estimate).
    rows: int | None = None
    rows_estimate: int | None = None
    unlogged: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def rows_at_backup(self) -> int | None:
        """The exact count where there is one, else the planner's estimate."""
        return self.rows if self.rows is not None else self.rows_estimate


@dataclass(frozen=True)
class IndexFacts:
    schema: str
    table: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}.{self.name}"


@dataclass(frozen=True)
class ConstraintFacts:
    schema: str
    #: The constrained table as ``regclass`` text (schema-qualified when not on the search
    #: path); None or "-" for a constraint on no table (a domain's).
    table: str | None
    name: str
    type: str = ""
    validated: bool = True

    @property
    def on_table(self) -> bool:
        return self.table not in (None, "-")

    @property
    def table_qualified(self) -> str:
        """``schema.table`` of the constrained table."""
        return f"{self.schema}.{(self.table or '').split('.')[-1]}"

    @property
    def qualified(self) -> str:
        """``schema.table.name``: how a drill names the constraint."""
        return f"{self.table_qualified}.{self.name}"


@dataclass(frozen=True)
class CatalogSnapshot:
    database: str = ""
    tables: tuple[TableFacts, ...] = ()
    indexes: tuple[IndexFacts, ...] = ()
    constraints: tuple[ConstraintFacts, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing recorded (an old manifest, or one without a snapshot)."""
        return not (self.database or self.tables or self.indexes or self.constraints)

    @classmethod
    def from_doc(cls, doc: object) -> CatalogSnapshot:
        """Parse the stored snapshot (None or absent: an empty one); raises SnapshotError
        naming what is wrong with a malformed one."""
        if doc is None:
            return cls()
        try:
            return cls._parse(_mapping(doc))
        except (KeyError, TypeError, ValueError) as e:
            why = f"no {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
            raise SnapshotError(f"catalog snapshot: {why}") from None

    @classmethod
    def _parse(cls, d: dict[str, Any]) -> CatalogSnapshot:
        return cls(
            database=_opt_text(d.get(DATABASE)) or "",
            tables=tuple(
                TableFacts(
                    _text(t[SCHEMA]),
                    _text(t[NAME]),
                    _opt_count(t.get(ROWS)),
                    _opt_count(t.get(ROWS_ESTIMATE)),
                    _flag(t.get(UNLOGGED, False)),
                )
                for t in map(_mapping, _list(d.get(TABLES)))
            ),
            indexes=tuple(
                IndexFacts(_text(i[SCHEMA]), _text(i[TABLE]), _text(i[NAME]))
                for i in map(_mapping, _list(d.get(INDEXES)))
            ),
            constraints=tuple(
                ConstraintFacts(
                    _text(c[SCHEMA]),
                    _opt_text(c.get(TABLE)),
                    _text(c[NAME]),
                    _opt_text(c.get(TYPE)) or "",
                    _flag(c.get(VALIDATED, True)),
                )
                for c in map(_mapping, _list(d.get(CONSTRAINTS)))
            ),
        )

    def to_doc(self) -> dict[str, Any]:
        """The stored form (what ``from_doc`` reads back)."""
        return {
            DATABASE: self.database,
            TABLES: [
                {
                    SCHEMA: t.schema,
                    NAME: t.name,
                    ROWS_ESTIMATE: t.rows_estimate,
                    ROWS: t.rows,
                    UNLOGGED: t.unlogged,
                }
                for t in self.tables
            ],
            INDEXES: [{SCHEMA: i.schema, TABLE: i.table, NAME: i.name} for i in self.indexes],
            CONSTRAINTS: [
                {
                    SCHEMA: c.schema,
                    TABLE: c.table,
                    NAME: c.name,
                    TYPE: c.type,
                    VALIDATED: c.validated,
                }
                for c in self.constraints
            ],
        }


def _mapping(v: object) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TypeError(f"{v!r} is not a mapping")
    return v


def _list(v: object) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise TypeError(f"{v!r} is not a list")
    return v


def _text(v: object) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{v!r} is not text")
    return v


def _opt_text(v: object) -> str | None:
    return None if v is None else _text(v)


def _opt_count(v: object) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{v!r} is not a count")
    return v


def _flag(v: object) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"{v!r} is not true or false")
    return v
