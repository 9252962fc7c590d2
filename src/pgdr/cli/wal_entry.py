"""The lean path for archive_command and restore_command.

PostgreSQL starts one process per WAL file, so `pgdr wal-push` / `pgdr wal-fetch` skip the
full CLI (Typer, rich) and import only what they need. Same options, same error format and
exit codes as the full CLI.

    pgdr [--config FILE] [--repo NAME|URL] [-v|-q] wal-push PATH
    pgdr [--config FILE] [--repo NAME|URL] [-v|-q] wal-fetch NAME DEST
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

WAL_COMMANDS = ("wal-push", "wal-fetch")


def wants_lean_path(argv: list[str]) -> bool:
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--config", "--repo"):
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg in WAL_COMMANDS
    return False


def main(argv: list[str]) -> int:
    from pgdr.errors import PgdrError

    ap = argparse.ArgumentParser(prog="pgdr", add_help=False)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--repo")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("command", choices=WAL_COMMANDS)
    ap.add_argument("args", nargs="*")
    try:
        ns = ap.parse_args(argv)
    except SystemExit:
        return 2
    try:
        return _run(ns)
    except PgdrError as e:
        from pgdr.cli.report import report_error

        return report_error(e, ns.json)
    except KeyboardInterrupt:
        print("pgdr: interrupted", file=sys.stderr)
        return 130


def _run(ns: argparse.Namespace) -> int:
    import os

    from pgdr.cli.repo_open import open_repository, target_from_settings
    from pgdr.config import load_config, resolve_repository
    from pgdr.errors import UsageError
    from pgdr.logs import setup_logging
    from pgdr.wal import archive

    setup_logging(ns.verbose, ns.quiet)
    want = 1 if ns.command == "wal-push" else 2
    if len(ns.args) != want:
        usage = "wal-push PATH" if want == 1 else "wal-fetch NAME DEST"
        raise UsageError(f"usage: pgdr {usage}")
    _name, settings = resolve_repository(
        load_config(ns.config), ns.repo or os.environ.get("PGDR_REPO")
    )
    repo = open_repository(target_from_settings(settings))
    if ns.command == "wal-push":
        result = archive.push(repo, Path(ns.args[0]))
        if ns.verbose:
            print(f"pgdr: {result.name}: {result.status}", file=sys.stderr)
        return 0
    found = archive.fetch(repo, archive.check_wal_name(ns.args[0]), Path(ns.args[1]))
    return 0 if found else 1  # not archived: PostgreSQL probes for files that may not exist
