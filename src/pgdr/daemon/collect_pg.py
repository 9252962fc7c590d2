"""Database facts for the snapshot, over one short connection: WAL position and timeline,
``pg_stat_archiver``, ``pg_stat_replication``, the data directory. A database that cannot be
reached yields ``up=False`` with the reason, never an exception."""

from __future__ import annotations

from typing import Any

import psycopg

from pgdr.daemon.facts import PgFacts, Standby
from pgdr.errors import PostgresError
from pgdr.pg.connect import connect, reason, target
from pgdr.pg.wal import parse_lsn

_ARCHIVER = """SELECT archived_count, failed_count, last_archived_wal, last_archived_time,
       last_failed_wal, last_failed_time FROM pg_stat_archiver"""
_REPLICATION = """SELECT coalesce(application_name, ''), client_addr::text, state,
       extract(epoch FROM replay_lag)::float8,
       CASE WHEN pg_is_in_recovery() THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END
  FROM pg_stat_replication ORDER BY application_name, client_addr"""


def collect_pg(conninfo: str, timeout_s: float = 5.0) -> PgFacts:
    try:
        with connect(conninfo, timeout=timeout_s) as conn:
            return _collect(conn)
    except PostgresError as e:
        return PgFacts(up=False, error=str(e)[:300])
    except psycopg.Error as e:  # connected, then lost: the first line names the cause
        return PgFacts(up=False, error=f"PostgreSQL at {target(conninfo)}: {reason(e)}"[:300])


def _collect(conn: psycopg.Connection[Any]) -> PgFacts:
    def one(sql: str) -> Any:
        row = conn.execute(sql).fetchone()  # type: ignore[call-overload]
        assert row is not None
        return row

    (in_recovery, data_dir, archive_mode, seg_size) = one(
        "SELECT pg_is_in_recovery(), current_setting('data_directory'),"
        " current_setting('archive_mode'),"
        " (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')"
    )
    facts = PgFacts(
        up=True,
        in_recovery=bool(in_recovery),
        data_dir=str(data_dir),
        archive_mode=str(archive_mode),
        wal_segment_size=int(seg_size),
    )
    if not in_recovery:
        (name, lsn) = one("SELECT pg_walfile_name(pg_current_wal_lsn()), pg_current_wal_lsn()")
        facts.timeline = int(str(name)[:8], 16)
        facts.current_segment = parse_lsn(str(lsn)) // facts.wal_segment_size
    else:
        (tli,) = one("SELECT timeline_id FROM pg_control_checkpoint()")
        facts.timeline = int(tli)
    a = one(_ARCHIVER)
    facts.archived_count, facts.failed_count = int(a[0]), int(a[1])
    facts.last_archived_wal, facts.last_archived_time = a[2], a[3]
    facts.last_failed_wal, facts.last_failed_time = a[4], a[5]
    rows: list[Any] = conn.execute(_REPLICATION).fetchall()  # type: ignore[call-overload]
    for r in rows:
        facts.standbys.append(
            Standby(
                name=str(r[0]) or str(r[1] or "local"),
                client_addr=r[1],
                state=str(r[2]),
                replay_lag_s=float(r[3]) if r[3] is not None else None,
                lag_bytes=int(r[4]) if r[4] is not None else None,
            )
        )
    return facts
