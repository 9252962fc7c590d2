"""How PostgreSQL is told about a base backup: one held connection, non-exclusive
pg_backup_start / pg_backup_stop, and the facts the manifest records."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgdr.catalog.snapshot import CatalogSnapshot, ConstraintFacts, IndexFacts, TableFacts
from pgdr.errors import PostgresError
from pgdr.pg.connect import connect
from pgdr.pg.wal import parse_lsn

#: Tables estimated above this many rows are not counted exactly in the catalog snapshot.
EXACT_COUNT_LIMIT = 20_000_000


@dataclass
class ServerFacts:
    system_identifier: str
    version_num: int
    data_dir: Path
    wal_segment_size: int
    databases: list[str]
    #: {oid as text: name} of every database, template0 included.
    database_oids: dict[str, str]
    archive_mode: str
    archive_command: str
    data_checksums: bool
    #: The timeline of the last checkpoint (before pg_backup_start: what decides the type).
    timeline: int = 1


@dataclass
class StopResult:
    stop_lsn: int
    backup_label: str
    tablespace_map: str


class BackupSession:
    def __init__(self, conninfo: str) -> None:
        self.conn = connect(conninfo)

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        try:
            row = self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        except psycopg.Error as e:
            raise PostgresError(f"PostgreSQL refused: {str(e).strip().splitlines()[0]}") from None
        assert row is not None
        return row

    def facts(self) -> ServerFacts:
        (sysid,) = self._one("SELECT system_identifier::text FROM pg_control_system()")
        (ver,) = self._one("SELECT current_setting('server_version_num')::int")
        (data_dir,) = self._one("SELECT current_setting('data_directory')")
        (segsize,) = self._one(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'"
        )
        (dbs,) = self._one(
            "SELECT array_agg(datname ORDER BY datname) FROM pg_database WHERE datallowconn"
        )
        (oids,) = self._one(
            "SELECT json_object_agg(oid::text, datname ORDER BY oid) FROM pg_database"
        )
        (mode,) = self._one("SELECT current_setting('archive_mode')")
        (cmd,) = self._one("SELECT current_setting('archive_command')")
        (sums,) = self._one("SELECT current_setting('data_checksums') = 'on'")
        (tli,) = self._one("SELECT timeline_id FROM pg_control_checkpoint()")
        return ServerFacts(
            sysid,
            ver,
            Path(data_dir),
            int(segsize),
            list(dbs),
            {str(k): str(v) for k, v in dict(oids).items()},
            mode,
            cmd,
            bool(sums),
            int(tli),
        )

    def start(self, label: str) -> tuple[int, int]:
        """Returns (start LSN, timeline)."""
        (lsn,) = self._one("SELECT pg_backup_start(%s, true)::text", (label,))
        (tli,) = self._one("SELECT timeline_id FROM pg_control_checkpoint()")
        return parse_lsn(lsn), int(tli)

    def stop(self) -> StopResult:
        # wait_for_archive => false: PostgreSQL polls the archiver once a second, a floor of
        # ~1 s per backup; pgdr waits for the WAL in the repository itself (take_backup).
        lsn, label, spcmap = self._one(
            "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)"
        )
        return StopResult(parse_lsn(lsn), label, spcmap or "")

    def abort(self) -> None:
        """End a started backup after a failure (closing the session also ends it)."""
        with contextlib.suppress(psycopg.Error):
            self.conn.execute("SELECT pg_backup_stop(false)")

    def catalog(self) -> CatalogSnapshot:
        """Tables with row counts, indexes and constraints of the connected database —
        what later drills check a restore against. Rows are counted exactly for tables
        below EXACT_COUNT_LIMIT estimated rows (a count(*) of a huge table would slow the
        backup down); larger ones carry only the planner's estimate."""
        tables = self.conn.execute(
            "SELECT n.nspname, c.relname, c.reltuples::bigint, c.relpersistence "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
        ).fetchall()
        indexes = self.conn.execute(
            "SELECT schemaname, tablename, indexname FROM pg_indexes "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
        ).fetchall()
        constraints = self.conn.execute(
            "SELECT n.nspname, c.conrelid::regclass::text, c.conname, c.contype, c.convalidated "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
        ).fetchall()
        (database,) = self._one("SELECT current_database()")
        return CatalogSnapshot(
            database=database,
            tables=tuple(
                TableFacts(
                    s,
                    n,
                    self._exact_rows(s, n, int(r)),
                    rows_estimate=max(int(r), 0),
                    unlogged=p == "u",
                )
                for s, n, r, p in tables
            ),
            indexes=tuple(IndexFacts(s, t, i) for s, t, i in indexes),
            constraints=tuple(ConstraintFacts(s, t, n, ty, v) for s, t, n, ty, v in constraints),
        )

    def _exact_rows(self, schema: str, name: str, estimate: int) -> int | None:
        if estimate > EXACT_COUNT_LIMIT:
            return None
        q = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        try:
            (n,) = self.conn.execute(q).fetchone() or (None,)
        except psycopg.Error:  # no privilege on that table: the estimate will do
            return None
        return None if n is None else int(n)

    def close(self) -> None:
        self.conn.close()
