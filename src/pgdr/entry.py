"""Console-script entry point: archive/restore commands take a lean path, everything else
the full CLI."""

from __future__ import annotations

import sys


def run() -> None:
    argv = sys.argv[1:]
    from pgdr.wal import pusher_client  # built-in modules only

    req = pusher_client.parse(argv)  # a synchronous wal-push --spool: the resident pusher
    pushed = pusher_client.push(req) if req is not None else None
    if pushed is not None:
        sys.exit(pushed)
    from pgdr.cli.wal_entry import main, wants_lean_path

    if wants_lean_path(argv):
        sys.exit(main(argv, pusher_asked=req is not None))
    from pgdr.cli import early_open

    early_open.start(argv)  # backup/restore: the passphrase's KDF beside the imports below
    from pgdr.cli.main import run as full_cli

    full_cli(argv)
