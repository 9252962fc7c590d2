"""``--dump FILE``: the table(s) as they were at the target, as a ``pg_dump --format=custom`` file.

pg_dump runs as the sandbox's OS user (as every tool pgdr runs against a cluster it
started) and writes to its stdout; pgdr opens FILE itself, as the invoking user, owner-only
(0600) and never over an existing file (``O_EXCL``, and refused in the checks before any
restore). A failed or interrupted dump leaves no file behind."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from pgdr.errors import UsageError
from pgdr.errors.surgical import DumpExists
from pgdr.pg.cluster import Cluster
from pgdr.surgical.names import TableName

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class DumpOutcome:
    file: str
    bytes: int


def refuse_existing_file(path: Path) -> None:
    """Before any restore: FILE must not exist (not even as a dangling link), and its
    directory must."""
    if path.exists() or path.is_symlink():
        raise DumpExists(f"--dump {path}: the file exists; a dump never overwrites")
    if not path.parent.is_dir():
        raise UsageError(f"--dump {path}: no directory {path.parent}")


def dump_tables(
    cluster: Cluster, database: str, tables: list[TableName], path: Path
) -> DumpOutcome:
    """``pg_dump --format=custom`` of ``tables`` in ``database`` on ``cluster`` into ``path``
    (one file: pg_restore brings them back together)."""
    try:
        fd = os.open(path, _FLAGS, 0o600)
    except FileExistsError:
        raise DumpExists(f"--dump {path}: the file exists; a dump never overwrites") from None
    except OSError as e:
        raise UsageError(f"--dump {path}: cannot create it: {e.strerror}") from None
    done = False
    try:
        os.fchmod(fd, 0o600)
        cluster.run_tool(
            "pg_dump",
            "--format=custom",
            "--strict-names",
            # The tables exactly: a quoted pattern matches its characters literally.
            *(f"--table={t}" for t in tables),
            # A conninfo, so that no database name is ever read as one.
            f"--dbname={make_conninfo(dbname=database)}",
            stdout=fd,
            stderr=subprocess.PIPE,
        )  # a failure is one PostgresError line (exit 50)
        os.fsync(fd)
        size = os.fstat(fd).st_size
        done = True
    finally:
        os.close(fd)
        if not done:
            path.unlink(missing_ok=True)
    return DumpOutcome(str(path), size)
