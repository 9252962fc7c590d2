"""The catalog snapshot a backup records of its source database (tables with row counts,
indexes, constraints: taken by ``pgdr.backup.session``), typed. Drills compare a restored
database with it. ``CatalogSnapshot.from_doc`` parses the stored form once, when the manifest
is read; a malformed snapshot raises ``SnapshotError``, which makes the manifest a damaged
one (``ManifestError``), never a crash in a drill. The key names live here and nowhere else (``to_doc`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgdr.catalog.fields import count, flag, items, mapping, optional, text

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
            return cls._parse(mapping(doc))
        except (KeyError, TypeError, ValueError) as e:
            why = f"no {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
            raise SnapshotError(f"catalog snapshot: {why}") from None

    @classmethod
    def _parse(cls, d: dict[str, Any]) -> CatalogSnapshot:
        return cls(
            database=optional(text, d.get(DATABASE)) or "",
            tables=tuple(
                TableFacts(
                    text(t[SCHEMA]),
                    text(t[NAME]),
                    optional(count, t.get(ROWS)),
                    optional(count, t.get(ROWS_ESTIMATE)),
                    flag(t.get(UNLOGGED, False)),
                )
                for t in map(mapping, items(d.get(TABLES)))
            ),
            indexes=tuple(
                IndexFacts(text(i[SCHEMA]), text(i[TABLE]), text(i[NAME]))
                for i in map(mapping, items(d.get(INDEXES)))
            ),
            constraints=tuple(
                ConstraintFacts(
                    text(c[SCHEMA]),
                    optional(text, c.get(TABLE)),
                    text(c[NAME]),
                    optional(text, c.get(TYPE)) or "",
                    flag(c.get(VALIDATED, True)),
                )
                for c in map(mapping, items(d.get(CONSTRAINTS)))
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
