"""The archive_command's side of the resident pusher (pgdr.wal.pusher): standard library only,
so a synchronous ``wal-push`` costs a Python start and one local round trip instead of
importing the repository, crypto and storage stacks for every segment.

    DIR/push-<id>.sock   the pusher's unix socket (DIR is 0700, owned by the server's OS user)
    DIR/push-<id>.lock   flock held by the one pusher serving that socket

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

import fcntl
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

CONNECT_TIMEOUT_S = 2.0
#: beyond the pusher's own deadline: the time to send its answer
ANSWER_SLACK_S = 5.0


@dataclass(frozen=True)
class Answer:
    code: int  # 0: durable in the repository
    message: str  # status on success, the one-line error otherwise
    hint: str = ""


class PushTimedOut(Exception):
    """The pusher accepted the request but did not answer within its deadline."""


def endpoint(spool: Path, pg_wal: Path, config: str, repo: str, key_file: str) -> Path:
    """``DIR/push-<id>`` (add ``.sock``/``.lock``) for one pusher identity."""
    ident = "\0".join([os.path.realpath(pg_wal), config, repo, key_file])
    return spool / f"push-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def ask(base: Path, wal_path: Path) -> Answer | None:
    """Have the pusher at ``base`` push ``wal_path``; None when it did not answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(str(base.with_suffix(".sock")))
        sock.sendall(f"{wal_path}\n".encode())
        reader = sock.makefile("rb")
        first = reader.readline().decode(errors="replace").split()
        if len(first) != 2 or first[0] != "WAIT":
            return None
        sock.settimeout(float(first[1]) + ANSWER_SLACK_S)
        try:
            line = reader.readline().decode(errors="replace").rstrip("\n")
        except TimeoutError:
            raise PushTimedOut(float(first[1])) from None
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return parse_answer(line)


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


def running(base: Path) -> bool:
    """True while a pusher holds ``base``'s lock (it may still be starting)."""
    try:
        fd = os.open(base.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return True  # cannot tell: do not start another one
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start(cmd: list[str]) -> None:
    """Start a pusher detached (own session, no inherited streams): it outlives this call."""
    import subprocess

    subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
