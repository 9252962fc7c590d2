"""The archive_command's side of the resident pusher (pgdr.wal.pusher). It imports only
built-in modules (no argparse, pathlib, dataclasses or socket: each costs milliseconds on
every segment), so a synchronous ``wal-push`` costs a Python start and one local round trip
instead of importing the repository, crypto and storage stacks for every segment.

    DIR/push-<id>.sock   the pusher's unix socket (DIR is 0700, owned by the server's OS user)
    DIR/push-<id>.lock   flock held by the one pusher serving that socket (holds its pid)

``<id>`` hashes what the pusher was started for (pg_wal, config file, repository, key file),
so two clusters or two configurations never share a pusher.

Protocol (one request per connection, lines of UTF-8):
    client -> ``<absolute path of the WAL file>``
    pusher -> ``WAIT <seconds>``          accepted; the answer comes within that many seconds
    pusher -> ``OK <status>``             durable in the repository (stored / already-stored)
           or ``ERR <exit code> <message>[\\t<hint>]``   the error the in-process push gives

Anything else — no socket, no ``WAIT``, the connection closed before the answer (pusher
killed) — is "not answered": the caller pushes in-process, never acknowledges.
"""

from __future__ import annotations

import _socket
import hashlib
import os
import sys
from os import PathLike

from pgdr.proc import helper_command, lock_held, spawn_detached

CONNECT_TIMEOUT_S = 2.0
#: beyond the pusher's own deadline: the time to send its answer
ANSWER_SLACK_S = 5.0
#: StorageUnreachable's exit code (pgdr.errors): a pusher that accepted and never answered
NO_ANSWER_EXIT = 21
#: a unix socket's path holds 107 bytes: with a longer spool no pusher is started
SUN_PATH_MAX = 107

StrPath = str | PathLike[str]


class Answer:
    """The pusher's answer (a plain class: ``typing`` alone costs milliseconds to import)."""

    __slots__ = ("code", "hint", "message")

    def __init__(self, code: int, message: str, hint: str = "") -> None:
        self.code = code  # 0: durable in the repository
        self.message = message  # status on success, the one-line error otherwise
        self.hint = hint

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Answer):
            return NotImplemented
        return (self.code, self.message, self.hint) == (other.code, other.message, other.hint)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.hint))

    def __repr__(self) -> str:
        return f"Answer({self.code!r}, {self.message!r}, {self.hint!r})"


class PushTimedOut(Exception):
    """The pusher accepted the request but did not answer within its deadline."""


class Request:
    """A synchronous ``wal-push --spool DIR PATH`` and the globals that select its pusher:
    paths absolute, ``""`` for a global not given."""

    __slots__ = ("config", "key_file", "path", "repo", "spool", "verbose")

    def __init__(
        self, spool: str, path: str, config: str, repo: str, key_file: str, verbose: bool = False
    ) -> None:
        self.spool, self.path, self.verbose = spool, path, verbose
        self.config, self.repo, self.key_file = config, repo, key_file


def endpoint(spool: StrPath, pg_wal: StrPath, config: str, repo: str, key_file: str) -> str:
    """``DIR/push-<id>`` (add ``.sock``/``.lock``) for one pusher identity."""
    ident = "\0".join([os.path.realpath(pg_wal), config, repo, key_file])
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return os.path.join(os.fspath(spool), f"push-{digest}")


def parse(argv: list[str]) -> Request | None:
    """``[--config F] [--repo R] [--key-file K] [-v|-q] wal-push --spool DIR PATH`` and
    nothing else (any other form goes through the full argument parser)."""
    values = {"--config": "", "--repo": "", "--key-file": "", "--spool": ""}
    rest: list[str] = []
    verbose = False
    it = iter(argv)
    for arg in it:
        if arg in values:
            value = next(it, None)
            if value is None or values[arg]:
                return None
            values[arg] = value
        elif arg in ("-v", "-vv", "--verbose"):
            verbose = True
        elif arg in ("-q", "--quiet"):
            continue
        elif arg.startswith("-"):
            return None
        else:
            rest.append(arg)
    if len(rest) != 2 or rest[0] != "wal-push" or not values["--spool"]:
        return None
    absolute = os.path.abspath
    return Request(
        spool=absolute(values["--spool"]),
        path=absolute(rest[1]),
        config=absolute(values["--config"]) if values["--config"] else "",
        repo=values["--repo"] or os.environ.get("PGDR_REPO", ""),
        key_file=absolute(values["--key-file"]) if values["--key-file"] else "",
        verbose=verbose,
    )


def push(req: Request) -> int | None:
    """The pusher's answer as an exit code (its one-line error printed); None when no pusher
    answered — one is started for the next segments and the caller pushes in-process."""
    base = endpoint(req.spool, os.path.dirname(req.path), req.config, req.repo, req.key_file)
    name = os.path.basename(req.path)
    try:
        answer = ask(base, req.path)
    except PushTimedOut as e:
        print(f"pgdr: error: {name}: no answer from the pusher within {e} s", file=sys.stderr)
        return NO_ANSWER_EXIT
    if answer is None:
        try:
            os.makedirs(req.spool, mode=0o700, exist_ok=True)
            if len(os.fsencode(base)) + len(".sock") <= SUN_PATH_MAX and not lock_held(
                f"{base}.lock"
            ):
                spawn_detached(command(req))
        except OSError:
            pass  # no pusher then: every push stays in-process
        return None
    if answer.code == 0:
        if req.verbose:
            print(f"pgdr: {name}: {answer.message} (pusher)", file=sys.stderr)
        return 0
    print(f"pgdr: error: {answer.message}", file=sys.stderr)
    if answer.hint:
        print(f"pgdr: hint: {answer.hint}", file=sys.stderr)
    return answer.code


def ask(base: StrPath, wal_path: StrPath) -> Answer | None:
    """Have the pusher at ``base`` push ``wal_path``; None when it did not answer."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(f"{os.fspath(base)}.sock")
        sock.sendall(f"{os.fspath(wal_path)}\n".encode())
        buf = b""
        while b"\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            buf += chunk
        first, _, buf = buf.partition(b"\n")
        wait = first.decode(errors="replace").split()
        if len(wait) != 2 or wait[0] != "WAIT":
            return None
        sock.settimeout(float(wait[1]) + ANSWER_SLACK_S)
        try:
            while b"\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                buf += chunk
        except TimeoutError:
            raise PushTimedOut(float(wait[1])) from None
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return parse_answer(buf.partition(b"\n")[0].decode(errors="replace"))


def parse_answer(line: str) -> Answer | None:
    kind, _, rest = line.partition(" ")
    if kind == "OK" and rest:
        return Answer(0, rest)
    if kind == "ERR":
        code, _, text = rest.partition(" ")
        message, _, hint = text.partition("\t")
        if code.isdigit() and int(code) > 0 and message:
            return Answer(int(code), message, hint)
    return None


def command(req: Request) -> list[str]:
    pg_wal = os.path.dirname(req.path)
    cmd = helper_command("wal-pusher", req.config, req.repo, req.key_file)
    return [*cmd, "--spool", req.spool, "--pg-wal", pg_wal]
