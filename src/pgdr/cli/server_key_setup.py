"""`pgdr setup`'s part in the server key (pgdr.wal.server_key): which key file the
archive_command names, created and given a slot on ``--apply``."""

from __future__ import annotations

from pathlib import Path

from pgdr.cli.context import CliContext
from pgdr.cli.repo_target import open_repository
from pgdr.errors import PgdrError
from pgdr.pg.osuser import resolve_runas
from pgdr.wal import server_key


def _data_dir(cli: CliContext, conninfo: str) -> Path | None:
    from pgdr.pg.connect import connect

    with connect(conninfo) as conn:
        row = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'data_directory'"
        ).fetchone()
    if row and row[0]:
        return Path(str(row[0]))
    return cli.config.postgres.data_dir


def for_setup(cli: CliContext, conninfo: str, key_dir: Path | None, apply: bool) -> Path | None:
    """The server key the archive_command should name; None when the repository's
    configured key is not a passphrase (a key file or KMS costs no KDF). With ``apply``,
    the key file exists and opens a slot afterwards (audited when a slot was added)."""
    try:
        _name, settings = cli.repo_settings()
    except PgdrError:  # no repository configured: setup only shows the server settings
        return None
    if settings.passphrase is None:
        return None
    runas = resolve_runas()
    key_dir = (key_dir or server_key.default_key_dir(runas)).absolute()
    server_key.check_outside(key_dir, _data_dir(cli, conninfo))
    path = server_key.key_path(key_dir, settings.url)
    if not apply:
        return path
    from pgdr import audit

    repo = open_repository(cli.target())
    key = server_key.ensure(repo, runas, path)
    if key.added:
        details = {"slot": key.slot_id, "kind": "keyfile", "label": server_key.label_for(runas)}
        audit.record(repo, "key-add", details)
    if not cli.quiet:
        what = "added" if key.added else "already there"
        cli.err.print(
            f"pgdr: server key {key.path} (owner {runas.name}, slot {key.slot_id} {what})"
        )
    return key.path


def existing(cli: CliContext) -> Path | None:
    """The key a restored server's commands should use: the server key setup made for
    this repository on this host, if any (never the operator's ``--key-file``: the
    server's OS user may not read it, and a wal-fetch that cannot open the repository
    would end recovery early)."""
    _name, settings = cli.repo_settings()
    if settings.passphrase is None:
        return None
    return server_key.existing(server_key.default_key_dir(resolve_runas()), settings.url)
