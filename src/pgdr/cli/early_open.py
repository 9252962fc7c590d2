"""Unlocking the repository before the full CLI is imported, for `pgdr backup` and
`pgdr restore`: a passphrase's scrypt (0.4-0.8 s of CPU, outside the GIL) then runs while
Typer, rich and the command modules load, instead of after them.

``pgdr.entry`` calls :func:`start` with the command line. It reads the global options
(``--config``, ``--repo``, ``--key-file``: before the command, as the full CLI takes them)
and the config as the lean WAL path does (pgdr.config_lean: cached, validated once per
file version), resolves the repository target exactly as the full CLI will, and opens the
repository on a daemon thread, without the identity check (logging is not set up yet) —
only for a passphrase: a key file or KMS key has no KDF to hide.

The full CLI computes its own target; :func:`take` hands over the early opening only when
that target is equal in every field (the same URL, storage options, passphrase or key file,
settings), so the early path can never choose another repository or key than the command
would. Anything the early path cannot do (no such command, a config error, an ad-hoc URL)
simply leaves no early opening: the command opens the repository itself and reports what
goes wrong, as before.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgdr.cli.repo_target import RepoTarget
    from pgdr.repo.repository import Repository

#: top-level commands that open the repository with the KDF on their critical path
COMMANDS = frozenset({"backup", "restore"})
#: subcommands of those that do not open the repository right away, or only show help
_NOT = frozenset({"--help", "-h", "preview", "table", "--dry-run"})

_early: tuple[RepoTarget, Future[Repository]] | None = None
_lock = threading.Lock()


def start(argv: list[str]) -> None:
    """Start opening the repository when the command is one of :data:`COMMANDS`."""
    global _early
    from pgdr.cli.wal_entry import global_options  # pgdr.entry imported it already

    command, values = global_options(argv)
    if command not in COMMANDS or _NOT.intersection(argv):
        return
    try:
        target = _target(values)
    except Exception:  # the command itself reports it, in its own words
        return
    if target is None or target.passphrase is None:  # a key file or KMS runs no KDF
        return
    from pgdr.cli.repo_target import open_repository

    # the backend's module is imported here, not on the thread beside the CLI's imports
    if target.url.startswith("s3://"):
        import pgdr.storage.s3
    else:
        import pgdr.storage.local  # noqa: F401

    fut: Future[Repository] = Future()

    def run() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(open_repository(target, check_identity=False))
        except BaseException as e:
            fut.set_exception(e)

    # a daemon thread: a command that fails before it needs the repository exits at once
    threading.Thread(target=run, name="pgdr-open-early", daemon=True).start()
    with _lock:
        _early = (target, fut)


def _target(values: dict[str, str]) -> RepoTarget | None:
    from pgdr.cli.repo_target import target_from_settings, with_key_file
    from pgdr.config_lean import LeanRepository, load_lean

    config = load_lean(values.get("--config"))
    _name, settings = config.resolve(values.get("--repo") or os.environ.get("PGDR_REPO"))
    if not isinstance(settings, LeanRepository):  # an ad-hoc URL or an uncached model
        return None
    key_file = values.get("--key-file")
    settings = with_key_file(settings, Path(key_file) if key_file else None)
    return target_from_settings(settings)


def take(target: RepoTarget) -> Future[Repository] | None:
    """The early opening, when it was started for exactly ``target`` (once); else None."""
    global _early
    with _lock:
        early, _early = _early, None
    if early is None or early[0] != target:
        return None
    return early[1]
