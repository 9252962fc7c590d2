"""Who runs PostgreSQL processes, and running commands as that user.

PostgreSQL refuses to run as root. When pgdr is root, server processes and the files they
touch belong to an unprivileged OS user (``postgres``); otherwise they run as ourselves.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgdr.errors import PostgresError
from pgdr.localfs import pid_alive

DEFAULT_USER = "postgres"


@dataclass(frozen=True)
class RunAs:
    uid: int
    gid: int
    name: str
    home: str

    @property
    def switches(self) -> bool:
        """True when commands must change user (we are root, the target is not)."""
        return os.geteuid() == 0 and self.uid != 0


def resolve_runas(user: str | None = None) -> RunAs:
    """The user to run PostgreSQL as: ourselves unless root; as root ``user``/``postgres``."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        if user is not None and user != me.pw_name:
            raise PostgresError(f"cannot run PostgreSQL as {user!r}: only root can switch users")
        return RunAs(me.pw_uid, me.pw_gid, me.pw_name, me.pw_dir)
    name = user or DEFAULT_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise PostgresError(
            f"running as root and OS user {name!r} does not exist; PostgreSQL refuses to run"
            " as root",
            hint=f"create it: useradd --system --create-home {name}",
        ) from None
    if pw.pw_uid == 0:
        raise PostgresError(f"OS user {name!r} is root; PostgreSQL refuses to run as root")
    return RunAs(pw.pw_uid, pw.pw_gid, pw.pw_name, pw.pw_dir)


def subprocess_kwargs(
    runas: RunAs, env: Mapping[str, str] | None = None, cwd: str | Path | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``subprocess.run``/``Popen`` that run a command as ``runas``.

    When switching, drops supplementary groups, sets HOME/USER/LOGNAME and defaults the
    working directory to ``/`` (ours may not be readable by ``runas``).
    """
    env_out = dict(os.environ if env is None else env)
    kw: dict[str, Any] = {"env": env_out}
    if runas.switches:
        kw.update(user=runas.uid, group=runas.gid, extra_groups=[])
        env_out.update(HOME=runas.home, USER=runas.name, LOGNAME=runas.name)
        kw["cwd"] = "/" if cwd is None else cwd
    elif cwd is not None:
        kw["cwd"] = cwd
    return kw


def run_as(
    cmd: Sequence[str | Path],
    *,
    runas: RunAs | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(cmd)`` as ``runas`` (default: :func:`resolve_runas`). Never a shell."""
    who = runas or resolve_runas()
    return subprocess.run([str(c) for c in cmd], **subprocess_kwargs(who, env, cwd), **kwargs)


def chown_tree(path: str | Path, runas: RunAs) -> None:
    """Give ``path`` and everything below it to ``runas``; no-op unless we switch users."""
    if not runas.switches:
        return
    root = Path(path)
    os.chown(root, runas.uid, runas.gid, follow_symlinks=False)
    if not root.is_dir() or root.is_symlink():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), runas.uid, runas.gid, follow_symlinks=False)


def make_dir(path: Path, runas: RunAs, mode: int = 0o700) -> Path:
    """``mkdir`` (existing is fine) and hand it to ``runas``."""
    path.mkdir(mode=mode, exist_ok=True)
    chown_tree(path, runas)
    return path


def make_socket_dir(preferred: Path, runas: RunAs) -> Path:
    """A directory for ``runas``'s unix sockets: ``preferred``, or a fresh short one under
    /tmp when ``preferred`` is too long (sun_path holds 107 bytes, ``/.s.PGSQL.65535`` and
    ``.lock`` must fit after it)."""
    if len(str(preferred)) <= 90:
        return make_dir(preferred, runas)
    return make_dir(Path(tempfile.mkdtemp(prefix="pgdr-sock-", dir="/tmp")), runas)


def make_interpreter_reachable() -> None:
    """archive_command (and restore_command) run pgdr as the server's OS user: when this
    Python lives under a mode-0700 home (root's pyenv), grant traversal (not listing) on the
    way to it. Only root changes anything."""
    if os.geteuid() != 0:
        return
    for parent in Path(sys.executable).resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def check_traversable(path: str | Path, runas: RunAs) -> None:
    """Raise PostgresError naming the first ancestor of ``path`` that ``runas`` cannot enter.

    Catches the classic root pitfall (a cluster under a mode-0700 directory such as
    ``/tmp/pytest-of-root``) with a clear message instead of an obscure initdb failure.
    """
    if not runas.switches:
        return
    p = Path(path).absolute()
    for anc in [*reversed(p.parents), p]:
        try:
            st = anc.stat()
        except FileNotFoundError:
            return
        if st.st_uid == runas.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == runas.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            raise PostgresError(
                f"{anc} (mode {stat.S_IMODE(st.st_mode):04o}) is not traversable by OS user"
                f" {runas.name!r}, which runs PostgreSQL",
                hint=f"chmod o+x {anc}, or put the cluster elsewhere",
            )


_handed_out: set[int] = set()
_handed_lock = threading.Lock()


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        low, high = (int(x) for x in Path(path).read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def port_candidates(ephemeral: tuple[int, int]) -> range:
    """Ports to pick from: below the ephemeral range (or above it when it starts low)."""
    low, high = ephemeral
    if low > 16384:
        return range(max(1024, low - 16384), low)
    if high < 65535 - 4096:
        return range(high + 1, 65536)
    return range(0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, never one this process handed out
    before, and outside the kernel's ephemeral range: there every outgoing connection (a test's
    HTTP client, a libpq session) takes its local port, so a port picked there could be taken
    before the server binds it ("could not bind ... Address already in use")."""
    rng = random.SystemRandom()
    candidates = port_candidates(ephemeral_range())
    for _ in range(200 if len(candidates) else 0):
        port = rng.choice(candidates)
        with _handed_lock:
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # no quiet range: as before
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_in_dir(pid: int, directory: Path) -> bool:
    """``pid`` is alive and its working directory is ``directory`` (a postmaster chdirs to
    its data directory). Without /proc this degrades to :func:`pid_alive`."""
    if not Path("/proc/self/cwd").exists():
        return pid_alive(pid)
    try:
        return pid_alive(pid) and Path(os.readlink(f"/proc/{pid}/cwd")) == directory.resolve()
    except OSError:  # gone, or not ours to inspect
        return False


def kill_tree(pid: int, timeout: float = 10) -> None:
    """SIGKILL ``pid`` and its direct children (a postmaster's backends); wait till gone."""
    pids = [pid]
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
