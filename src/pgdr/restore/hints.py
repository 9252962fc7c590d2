"""The commands a restore suggests to start or stop the restored server, as they work for
the user who reads them: PostgreSQL runs as the data directory's owner, so when that is not
the caller the command switches user (``runuser -u OWNER --`` as root, ``sudo -u OWNER``
otherwise), and ``pg_ctl`` is named by its path when it is not on PATH (Debian's layout)."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
from pathlib import Path


def pg_ctl_command(data_dir: str, verb: str, owner: str | None, caller: str | None) -> str:
    """Pure: ``pg_ctl -D DIR VERB`` as ``caller`` runs it for a directory ``owner`` owns."""
    return _as(owner, caller, f"{_pg_ctl(data_dir)} -D {shlex.quote(data_dir)} {verb}")


def _as(owner: str | None, caller: str | None, command: str) -> str:
    if owner is None or owner == caller:
        return command
    if caller == "root":
        return f"runuser -u {shlex.quote(owner)} -- {command}"
    return f"sudo -u {shlex.quote(owner)} {command}"


def owner_and_caller(data_dir: str) -> tuple[str | None, str | None]:
    """The OS user names owning ``data_dir`` and running this process (None if unknown)."""
    return _name(_uid(data_dir)), _name(os.geteuid())


def _uid(path: str) -> int | None:
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def _name(uid: int | None) -> str | None:
    if uid is None:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _pg_ctl(data_dir: str) -> str:
    if shutil.which("pg_ctl"):
        return "pg_ctl"
    try:
        major = (Path(data_dir) / "PG_VERSION").read_text().strip()
    except OSError:
        return "pg_ctl"
    cand = Path(f"/usr/lib/postgresql/{major}/bin/pg_ctl")
    return str(cand) if major.isdigit() and cand.is_file() else "pg_ctl"
