"""Every connection pgdr opens to PostgreSQL, with one error rule (docs/design.md §15).

A connection that cannot be opened is a ``PostgresError`` with one line naming where pgdr
tried to connect (host, port, database — never the password or other connection options,
which may hold secrets) and libpq's reason. The timeout is always set: a host that drops
packets must not hang a backup, a drill or the daemon's snapshot.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pgdr.errors import PostgresError

#: Seconds libpq waits for a server before giving up (its ``connect_timeout``).
CONNECT_TIMEOUT = 10


def target(conninfo: str) -> str:
    """``host=… port=… dbname=…`` of a connection string, with libpq's environment defaults;
    nothing else from it (a password or sslkey path stays out of messages and logs)."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "an unparseable connection string"
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "default"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    db = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "default"
    return f"host={host} port={port} dbname={db}"


def reason(exc: BaseException) -> str:
    """libpq's reason in one line (its first; later lines are hints such as "Is the server
    running…")."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def connect(
    conninfo: str, *, autocommit: bool = True, timeout: float = CONNECT_TIMEOUT
) -> psycopg.Connection[Any]:
    """Open a connection; raise ``PostgresError`` (one line, no secrets) when it fails."""
    try:
        return psycopg.connect(
            conninfo, autocommit=autocommit, connect_timeout=max(1, round(timeout))
        )
    except psycopg.Error as exc:
        raise PostgresError(
            f"cannot connect to PostgreSQL at {target(conninfo)}: {reason(exc)}"
        ) from None
