"""Connection options for the commands that talk to PostgreSQL: config [postgres] section,
overridden by --pg-* options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgdr.cli.context import CliContext

PgHost = Annotated[str | None, typer.Option("--pg-host", help="Host or socket directory.")]
PgPort = Annotated[int | None, typer.Option("--pg-port", help="Port.")]
PgUser = Annotated[str | None, typer.Option("--pg-user", help="Role with backup privileges.")]
PgDb = Annotated[str | None, typer.Option("--pg-dbname", help="Database to connect to.")]
PgData = Annotated[
    Path | None, typer.Option("--pg-data", help="Data directory (default: the server's).")
]


def conninfo(
    cli: CliContext, host: str | None, port: int | None, user: str | None, dbname: str | None
) -> str:
    from psycopg.conninfo import make_conninfo  # psycopg is a tenth of the CLI's start

    pg = cli.config.postgres
    return make_conninfo(
        host=host or pg.host,
        port=str(port or pg.port),
        user=user or pg.user,
        dbname=dbname or pg.dbname,
        application_name="pgdr",
    )
