"""Console-script entry point: archive/restore commands take a lean path, everything else
the full CLI."""

from __future__ import annotations

import sys


def run() -> None:
    argv = sys.argv[1:]
    from pgdr.cli.wal_entry import main, wants_lean_path

    if wants_lean_path(argv):
        sys.exit(main(argv))
    from pgdr.cli.main import run as full_cli

    full_cli(argv)
