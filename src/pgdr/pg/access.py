"""Who may connect to a PostgreSQL that pgdr starts (a throw-away cluster, the demo's, a
drill sandbox): its own OS user and root, through the Unix socket, and nobody else.

* No TCP: ``listen_addresses = ''``.
* The socket lives in a directory of mode 0700 owned by the server's OS user (see
  :func:`pgdr.pg.osuser.make_socket_dir`), and the socket itself is 0700: other OS users
  cannot even reach it.
* ``pg_hba.conf`` has only ``peer`` lines through the ident map :data:`MAP`, which lets the
  server's OS user, root and the user pgdr runs as connect as the cluster's superuser.

Why peer and not a generated password: a drill sandbox is a restored copy of production,
in recovery (read-only) until it is promoted, and pgdr connects all along to watch the
replay; its roles and their passwords are production's, and setting one would mean writing
to the copy before it is one. Peer needs nothing stored and nothing to hand over; root
passes through the map (root can read every file of the cluster anyway). Never ``trust``.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from pgdr.pg.osuser import RunAs, chown_tree

#: The pg_ident.conf map our pg_hba.conf lines name.
MAP = "pgdr"

HBA = (
    "# written by pgdr: only the server's own OS user, root and pgdr's user, by Unix socket\n"
    f"local all all peer map={MAP}\n"
    f"local replication all peer map={MAP}\n"
)


def settings() -> dict[str, object]:
    """Server settings that keep it off the network and its socket private."""
    return {"listen_addresses": "", "unix_socket_permissions": 0o700}


def ident(superuser: str, runas: RunAs) -> str:
    """pg_ident.conf lines: root, the server's OS user and ours may act as ``superuser``."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    users = sorted({"root", runas.name, me})
    return "".join(f"{MAP} {u} {superuser}\n" for u in users)


def write_private(path: Path, text: str, runas: RunAs) -> Path:
    """``text`` into ``path`` (replaced), mode 0600, owned by ``runas``."""
    tmp = path.with_name(path.name + ".pgdr-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    chown_tree(tmp, runas)
    tmp.replace(path)
    return path


def write_files(directory: Path, superuser: str, runas: RunAs) -> tuple[Path, Path]:
    """``pg_hba.conf`` and ``pg_ident.conf`` in ``directory``; returns their paths."""
    hba = write_private(directory / "pg_hba.conf", HBA, runas)
    idf = write_private(directory / "pg_ident.conf", ident(superuser, runas), runas)
    return hba, idf
