"""The lean path for archive_command and restore_command.

PostgreSQL starts one process per WAL file, so these commands skip the full CLI (Typer,
rich) and, on their fast paths, import nothing beyond the standard library:

    pgdr [--config FILE] [--repo NAME|URL] [--key-file PATH] [-v|-q] wal-push [--async --spool DIR] PATH
    pgdr [--config FILE] [--repo NAME|URL] [--key-file PATH] [-v|-q] wal-fetch [--prefetch N --spool DIR] NAME DEST
    pgdr ... wal-uploader --spool DIR [--pg-wal DIR]        (started by wal-push --async)
    pgdr ... wal-prefetcher --spool DIR NAME...             (started by wal-fetch --prefetch)
    pgdr ... wal-pusher --spool DIR --pg-wal DIR            (started by wal-push --spool)

A synchronous ``wal-push --spool DIR`` (no ``--async``) hands the file to the resident pusher
(pgdr.wal.pusher) through a unix socket in DIR and exits 0 only on its "durable" answer;
when no pusher answers it starts one and pushes in-process, as without ``--spool``.

``--key-file`` (the server key `pgdr setup --apply` writes, pgdr.wal.server_key) opens the
repository instead of its configured key, so no KDF runs and no passphrase is read; the
uploader and prefetcher are started with the same key.

Same error format and exit codes as the full CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

WAL_COMMANDS = ("wal-push", "wal-fetch", "wal-uploader", "wal-prefetcher", "wal-pusher")
#: wal-fetch of a damaged WAL object: 128 + IntegrityError's 34, above PostgreSQL's 125
DAMAGED_FETCH_EXIT = 162


_GLOBAL_WITH_VALUE = ("--config", "--repo", "--key-file")


def global_options(argv: list[str]) -> tuple[str | None, dict[str, str]]:
    """The command (first word that is not a global option) and the global options with a
    value given before it (``--config FILE`` or ``--config=FILE``)."""
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name in _GLOBAL_WITH_VALUE:
            if not eq:
                if i + 1 >= len(argv):
                    return None, values
                value = argv[i + 1]
                i += 1
            values[name] = value
        elif not arg.startswith("-"):
            return arg, values
        i += 1
    return None, values


def wants_lean_path(argv: list[str]) -> bool:
    if "--help" in argv:  # help is rendered by the full CLI, from the same command tree
        return False
    return global_options(argv)[0] in WAL_COMMANDS


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pgdr", add_help=False)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--repo")
    ap.add_argument("--key-file", type=Path)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("command", choices=WAL_COMMANDS)
    ap.add_argument("--async", dest="async_", action="store_true")
    ap.add_argument("--spool", type=Path)
    ap.add_argument("--prefetch", type=int, default=0)
    ap.add_argument("--pg-wal", type=Path)
    ap.add_argument("args", nargs="*")
    return ap


def main(argv: list[str], *, pusher_asked: bool = False) -> int:
    """``pusher_asked``: pgdr.entry already asked the resident pusher (its fast path) and
    no pusher answered, so a ``wal-push --spool`` pushes in-process."""
    started = time.monotonic()
    try:
        ns = _parser().parse_intermixed_args(argv)
    except SystemExit:
        return 2
    ns.started = started
    fast = _fast_path(ns)
    if fast is None and not pusher_asked:
        fast = _through_pusher(ns)
    if fast is not None:
        return fast
    from pgdr.errors import IntegrityError, PgdrError

    try:
        return _run(ns)
    except PgdrError as e:
        from pgdr.cli.error_output import report_error

        code = report_error(e, ns.json)
        if ns.command == "wal-fetch" and isinstance(e, IntegrityError):
            # PostgreSQL takes any exit code up to 125 from restore_command for "not
            # archived" and would end recovery early, before the damaged file; above 125 it
            # aborts recovery with the file named
            return DAMAGED_FETCH_EXIT
        return code
    except KeyboardInterrupt:
        print("pgdr: interrupted", file=sys.stderr)
        return 130


def _fast_path(ns: argparse.Namespace) -> int | None:
    """Answers that need no repository: an asynchronously pushed file already acknowledged,
    or a prefetched file ready to hand over."""
    if ns.spool is None or not ns.args:
        return None
    name = Path(ns.args[0]).name
    if ns.command == "wal-push" and ns.async_ and (ns.spool / "acked" / name).exists():
        return 0
    if ns.command == "wal-fetch" and len(ns.args) == 2 and ns.prefetch > 0:
        from pgdr.wal.prefetch_handover import take_prefetched

        if take_prefetched(ns.spool, name, Path(ns.args[1])):
            return 0
    return None


def _through_pusher(ns: argparse.Namespace) -> int | None:
    """A synchronous push with ``--spool``: the resident pusher's answer, or None to push
    in-process (no pusher answered; one is started for the next segments)."""
    if ns.command != "wal-push" or ns.async_ or ns.spool is None or ns.json or len(ns.args) != 1:
        return None
    from pgdr.wal import pusher_client as client

    def absolute(p: Path | None) -> str:
        return os.path.abspath(p) if p else ""  # as pusher_client.parse spells them

    req = client.Request(
        spool=absolute(ns.spool),
        path=absolute(Path(ns.args[0])),
        config=absolute(ns.config),
        repo=ns.repo or os.environ.get("PGDR_REPO", ""),
        key_file=absolute(ns.key_file),
        verbose=bool(ns.verbose),
    )
    return client.push(req)


def _run(ns: argparse.Namespace) -> int:
    from pgdr.catalog.wal import check_wal_name
    from pgdr.cli.repo_target import backend, open_repository, target_from_settings, with_key_file
    from pgdr.cli.wal_followers import Followers
    from pgdr.config_lean import load_lean
    from pgdr.errors import UsageError
    from pgdr.logs import setup_logging
    from pgdr.repo.repository import Repository
    from pgdr.wal import archive
    from pgdr.wal.spool import Shipped

    setup_logging(ns.verbose, ns.quiet)
    repo_sel = ns.repo or os.environ.get("PGDR_REPO")
    key_file: Path | None = ns.key_file.absolute() if ns.key_file else None
    config = load_lean(ns.config)  # validated once per config file version, not per call
    # archive_command must end in bounded time, so PostgreSQL retries a hung storage later
    # instead of waiting on it: every storage operation of a synchronous push shares one
    # deadline (opening the repository, the push, the replicas).
    deadline = None
    if ns.command == "wal-push" and not ns.async_:
        deadline = ns.started + config.push_timeout_s  # a pusher that failed us counts too

    def repo() -> Repository:
        _name, settings = config.resolve(repo_sel)
        settings = with_key_file(settings, key_file)
        return open_repository(target_from_settings(settings, deadline=deadline))

    def followers() -> Followers:
        _name, settings = config.resolve(repo_sel)
        if not settings.replicate_to:
            return Followers([], config.wal_summary_s)
        from pgdr.replicate.follow import ReplicaLink  # only with replicas: not on every push

        links = [  # no key: WAL objects are copied sealed
            ReplicaLink(n, backend(target_from_settings(config.resolve(n)[1], deadline=deadline)))
            for n in settings.replicate_to
        ]
        return Followers(links, config.wal_summary_s)

    if ns.command == "wal-push":
        if len(ns.args) != 1:
            raise UsageError("usage: pgdr wal-push [--async --spool DIR] PATH")
        path = Path(ns.args[0])
        if ns.async_:
            from pgdr.wal.spool import push_async, uploader_command

            if ns.spool is None:
                raise UsageError("wal-push --async needs --spool DIR (a local directory)")
            pg_wal = path.parent if path.parent.name == "pg_wal" else Path("pg_wal")
            cmd = uploader_command(config.source, repo_sel, ns.spool, pg_wal.absolute(), key_file)
            status = push_async(path, ns.spool, cmd)
        else:
            target = repo()
            pushed = archive.push(target, path)
            status = pushed.status
            followers().after(target, [Shipped(pushed.name, pushed.status, pushed.bytes)])
        if ns.verbose:
            print(f"pgdr: {path.name}: {status}", file=sys.stderr)
        return 0
    if ns.command == "wal-fetch":
        if len(ns.args) != 2:
            raise UsageError("usage: pgdr wal-fetch [--prefetch N --spool DIR] NAME DEST")
        name = check_wal_name(ns.args[0])
        source = repo()
        found = archive.fetch(source, name, Path(ns.args[1]))
        if ns.prefetch > 0 and ns.spool is not None:
            from pgdr.wal.prefetch_fill import next_segments, note_end_of_archive, spawn_prefetcher

            if found:
                segments = next_segments(name, ns.prefetch)
                spawn_prefetcher(config.source, repo_sel, ns.spool, segments, key_file)
            else:
                note_end_of_archive(source, ns.spool, name)
        return 0 if found else 1  # not archived: PostgreSQL probes for files that may not exist
    if ns.spool is None:
        raise UsageError(f"{ns.command} needs --spool DIR")
    if ns.command == "wal-pusher":
        from pgdr.wal.pusher import serve
        from pgdr.wal.pusher_client import endpoint

        if ns.pg_wal is None:
            raise UsageError("wal-pusher needs --pg-wal DIR")
        spool = ns.spool.absolute()

        def repo_until(deadline: float) -> Repository:
            _name, settings = config.resolve(repo_sel)
            settings = with_key_file(settings, key_file)
            return open_repository(target_from_settings(settings, deadline=deadline))

        ident = [os.path.abspath(p) if p else "" for p in (ns.config, ns.key_file)]
        base = Path(endpoint(spool, ns.pg_wal, ident[0], repo_sel or "", ident[1]))
        serve(base, ns.pg_wal, repo_until, config.push_timeout_s, followers())
        return 0
    if ns.command == "wal-uploader":
        from pgdr.errors import PgdrError
        from pgdr.wal.spool import record_error, run_uploader

        try:
            target = repo()
        except PgdrError as e:  # nobody reads our stderr: the next archive_command reports it
            record_error(ns.spool, e.message)
            raise
        run_uploader(target, ns.spool, ns.pg_wal, followers=followers())
        return 0
    from pgdr.wal.prefetch_fill import run_prefetcher

    run_prefetcher(repo(), ns.spool, ns.args)
    return 0
