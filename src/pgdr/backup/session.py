"""How PostgreSQL is told about a base backup: one held connection, non-exclusive
pg_backup_start / pg_backup_stop, and the facts the manifest records."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pgdr.catalog.snapshot import CatalogSnapshot
from pgdr.catalog.take import take_snapshot
from pgdr.errors import PostgresError
from pgdr.pg.connect import connect
from pgdr.pg.wal import parse_lsn


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
        # one round trip (a remote server pays one network latency, not ten)
        sysid, ver, data_dir, segsize, dbs, oids, mode, cmd, sums, tli = self._one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()),"
            " current_setting('server_version_num')::int,"
            " current_setting('data_directory'),"
            " (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),"
            " (SELECT array_agg(datname ORDER BY datname) FROM pg_database WHERE datallowconn),"
            " (SELECT json_object_agg(oid::text, datname ORDER BY oid) FROM pg_database),"
            " current_setting('archive_mode'),"
            " current_setting('archive_command'),"
            " current_setting('data_checksums') = 'on',"
            " (SELECT timeline_id FROM pg_control_checkpoint())"
        )
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
        """The catalog snapshot of the connected database (``pgdr.catalog.take``)."""
        return take_snapshot(self.conn)

    def close(self) -> None:
        self.conn.close()
