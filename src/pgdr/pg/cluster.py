"""A PostgreSQL cluster pgdr controls: throw-away (tests, drills, demo) or restored.

``Cluster.create`` runs initdb into ``base_dir/data``; ``Cluster.attach`` adopts an existing
data directory. Server processes run as :func:`pgdr.pg.osuser.resolve_runas` (``postgres``
when we are root). Clients connect through a private unix socket directory, as
:mod:`pgdr.pg.access` allows (peer, no TCP) for a cluster pgdr created; a restored data
directory keeps its own pg_hba.conf (the operator's) and listens on 127.0.0.1. Settings, including port and socket directory, are written to
``postgresql.auto.conf``: it is read last, so they win over ``postgresql.conf`` and over
whatever a restored ``postgresql.auto.conf`` carries.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import psycopg
from psycopg.conninfo import make_conninfo

from pgdr.errors import PostgresError
from pgdr.pg import access, osuser
from pgdr.pg.binaries import error_line, find_bindir, merge_conf, one_line, server_env, tool
from pgdr.pg.connect import connect
from pgdr.pg.osuser import RunAs, chown_tree, free_port, run_as

if TYPE_CHECKING:
    from psycopg.abc import Params
    from psycopg.abc import QueryNoTemplate as Query
    from psycopg.rows import TupleRow

    Connection: TypeAlias = psycopg.Connection[TupleRow]
    Rows: TypeAlias = list[tuple[Any, ...]]
    Proc: TypeAlias = subprocess.CompletedProcess[Any]

StopMode = Literal["smart", "fast", "immediate"]
PORT_TRIES = 5
# initdb's pg_hba.conf is replaced by pgdr.pg.access's right after initdb
_INITDB = ["--data-checksums", "--auth-local=peer", "--auth-host=reject", "-E", "UTF8"]
_INITDB += ["--locale=C"]


@dataclass(eq=False)
class Cluster:
    """One data directory plus how to run and reach its server. See the module docstring."""

    data_dir: Path
    bindir: Path
    runas: RunAs
    port: int
    socket_dir: Path
    log_file: Path
    superuser: str = "postgres"
    auto_port: bool = False  # pick another port when the chosen one is taken at start
    owned: list[Path] = field(default_factory=list)  # what destroy() removes
    #: Set by the caller, on top of the allow-listed server_env(): only for a cluster that
    #: stands in for production (tests, the demo), whose archive_command may need what a
    #: real production server's environment would give it. pgdr's restores never set it.
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        base_dir: str | Path,
        *,
        port: int | None = None,
        bindir: str | Path | None = None,
        settings: Mapping[str, object] | None = None,
        initdb_args: Iterable[str] = (),
        superuser: str = "postgres",
        runas: RunAs | None = None,
        no_sync: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Cluster:
        """initdb a new, stopped cluster in ``base_dir/data``; socket dir ``base_dir/run``,
        log ``base_dir/postgres.log``. ``base_dir`` belongs to the cluster: destroy() removes
        it. ``port=None`` picks a free port (and another one if it is taken at start)."""
        who = runas or osuser.resolve_runas()
        base = Path(base_dir).absolute()
        base.mkdir(parents=True, exist_ok=True)
        osuser.check_traversable(base, who)
        data = osuser.make_dir(base / "data", who)
        c = cls._new(data, base / "run", base / "postgres.log", who, bindir, port, superuser)
        c.owned.insert(0, base)
        c.env = dict(env or {})
        cmd: list[str | Path] = [tool(c.bindir, "initdb"), "-D", data, *_INITDB, "-U", superuser]
        cmd += [*(["--no-sync"] if no_sync else []), *initdb_args]
        r = run_as(cmd, runas=who, env=server_env(), capture_output=True, text=True)
        if r.returncode != 0:
            c.destroy()
            raise PostgresError(f"initdb failed in {data}: {error_line(r.stderr, r.stdout)}")
        access.write_files(data, superuser, who)
        c.configure({**access.settings(), **(settings or {})})
        return c

    @classmethod
    def attach(
        cls,
        data_dir: str | Path,
        *,
        port: int | None = None,
        bindir: str | Path | None = None,
        settings: Mapping[str, object] | None = None,
        base_dir: str | Path | None = None,
        superuser: str = "postgres",
        runas: RunAs | None = None,
        chown: bool = True,
    ) -> Cluster:
        """Adopt an existing (e.g. restored) data directory, stopped. Socket dir and log go to
        ``base_dir`` (default: the data dir's parent) as ``<name>.run`` and ``<name>.log``.
        Writes ``postgresql.conf`` (empty) only when missing, as in a backup of a Debian-style
        cluster; without a ``pg_hba.conf`` it gets :mod:`pgdr.pg.access`'s (and no TCP), else
        the data directory's own rules apply. destroy() removes the data dir."""
        who = runas or osuser.resolve_runas()
        data = Path(data_dir).absolute()
        if not (data / "PG_VERSION").is_file():
            raise PostgresError(f"{data} is not a PostgreSQL data directory (no PG_VERSION)")
        base = Path(base_dir).absolute() if base_dir else data.parent
        osuser.check_traversable(base, who)
        if not (data / "postgresql.conf").exists():
            (data / "postgresql.conf").write_text("# written by pgdr\n")
        listen: dict[str, object] = {"listen_addresses": "127.0.0.1"}
        if not (data / "pg_hba.conf").exists():
            listen = access.settings()
            access.write_private(data / "pg_hba.conf", access.HBA, who)
            ident = data / "pg_ident.conf"
            old = ident.read_text() if ident.exists() else ""
            access.write_private(ident, old + access.ident(superuser, who), who)
        if chown:
            chown_tree(data, who)
        data.chmod(0o700)
        run, log = base / f"{data.name}.run", base / f"{data.name}.log"
        c = cls._new(data, run, log, who, bindir, port, superuser)
        c.owned.insert(0, data)
        c.configure({**listen, **(settings or {})})
        return c

    @classmethod
    def _new(
        cls, data: Path, run: Path, log: Path, who: RunAs, bindir: Any, port: int | None, su: str
    ) -> Cluster:
        owned = [p for p in (run, log) if not p.exists()]
        log.touch(mode=0o600)
        log.chmod(0o600)  # the server log can hold query text and data
        chown_tree(log, who)
        sock = osuser.make_socket_dir(run, who)
        c = cls(data, find_bindir(bindir), who, port or free_port(), sock, log, su)
        c.auto_port, c.owned = port is None, [*owned, sock]
        return c

    def configure(self, settings: Mapping[str, object]) -> None:
        """Set parameters in ``postgresql.auto.conf``, replacing earlier lines for the same
        names; port and unix_socket_directories are always rewritten. Takes effect at the
        next start (or :meth:`reload` for reloadable parameters)."""
        merged = {**settings, "port": self.port, "unix_socket_directories": str(self.socket_dir)}
        path = self.data_dir / "postgresql.auto.conf"
        tmp = path.with_name(path.name + ".pgdr-tmp")
        tmp.write_text(merge_conf(path.read_text() if path.exists() else "", merged))
        tmp.chmod(0o600)
        chown_tree(tmp, self.runas)
        tmp.replace(path)

    def _pg_ctl(self, *args: str, timeout: float = 60, check: str = "") -> tuple[int, str]:
        """Run pg_ctl; return (exit code, output). ``check``: raise with that text on failure."""
        cmd: list[str | Path] = [tool(self.bindir, "pg_ctl"), "-D", str(self.data_dir), *args]
        kw: dict[str, Any] = {"capture_output": True, "text": True, "timeout": timeout + 30}
        r = run_as(cmd, runas=self.runas, env={**server_env(), **self.env}, **kw)
        if check and r.returncode != 0 and (args[-1] != "stop" or self.is_running()):
            raise PostgresError(f"{check} failed: {error_line('', r.stderr + r.stdout)}")
        return r.returncode, r.stderr + r.stdout

    def start(self, timeout: float = 60, wait: bool = True) -> None:
        """``pg_ctl start``, waiting (``wait``) until it accepts connections; no-op if running.
        Failure raises a one-line PostgresError carrying the server log's reason."""
        if self.is_running():
            return
        secs = str(max(1, round(timeout)))
        for attempt in range(PORT_TRIES if self.auto_port else 1):
            mark = self.log_file.stat().st_size if self.log_file.exists() else 0
            args = ["-l", str(self.log_file), "-t", secs, "-w" if wait else "-W", "start"]
            rc, out = self._pg_ctl(*args, timeout=timeout)
            if rc == 0:
                return
            log = self._read_log(mark)
            if self.auto_port and "Address already in use" in log and attempt + 1 < PORT_TRIES:
                self.port = free_port()
                self.configure({})
                continue
            why = error_line(log, out) + (" (server still running)" if self.is_running() else "")
            msg = f"PostgreSQL in {self.data_dir} failed to start: {why}"
            raise PostgresError(msg, hint=f"server log: {self.log_file}")

    def stop(self, mode: StopMode = "fast", timeout: float = 60) -> None:
        """``pg_ctl stop -m mode`` and wait; no-op if not running."""
        if mode not in ("smart", "fast", "immediate"):
            raise PostgresError(f"invalid stop mode {mode!r}")
        if self.is_running():
            secs = str(max(1, round(timeout)))
            self._pg_ctl("-m", mode, "-w", "-t", secs, "stop", timeout=timeout, check="pg_ctl stop")

    def restart(self, timeout: float = 60) -> None:
        self.stop("fast", timeout)
        self.start(timeout)

    def reload(self, timeout: float = 10) -> None:
        """Make the server re-read its config files; return once new sessions see them."""
        query = "SELECT pg_conf_load_time()"
        before = self.sql(query)
        self._pg_ctl("reload", check="pg_ctl reload")
        deadline = time.monotonic() + timeout
        while self.sql(query) == before and time.monotonic() < deadline:
            time.sleep(0.02)

    def postmaster_pid(self) -> int | None:
        """First line of ``postmaster.pid``, if present and numeric."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        """A live postmaster owns this data directory (a stale pid file whose PID was reused
        by another process does not count: the postmaster's cwd is its data directory)."""
        pid = self.postmaster_pid()
        return pid is not None and osuser.process_in_dir(pid, self.data_dir)

    def wait_ready(self, timeout: float = 60) -> float:
        """Retry connecting until it works; return the seconds waited."""
        t0 = time.monotonic()
        while True:
            try:
                connect(self.conninfo(), timeout=5).close()
                return time.monotonic() - t0
            except PostgresError as exc:
                last = str(exc)
            if not self.is_running():
                last = f"server exited: {error_line(self._read_log(0))}"
            if not self.is_running() or time.monotonic() - t0 > timeout:
                raise PostgresError(f"PostgreSQL in {self.data_dir} is not ready: {last}")
            time.sleep(0.1)

    def destroy(self) -> None:
        """Stop immediately (SIGKILL as a last resort) and delete what the cluster owns."""
        with contextlib.suppress(PostgresError, subprocess.SubprocessError):
            self.stop("immediate", timeout=30)
        if (pid := self.postmaster_pid()) is not None and self.is_running():
            osuser.kill_tree(pid)
        for path in self.owned:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.owned = []

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string through the unix socket directory."""
        host, user = str(self.socket_dir), self.superuser
        return make_conninfo(host=host, port=self.port, user=user, dbname=dbname)

    def connect(self, dbname: str = "postgres", autocommit: bool = True) -> Connection:
        return connect(self.conninfo(dbname), autocommit=autocommit)

    def sql(self, query: Query, params: Params | None = None, dbname: str = "postgres") -> Rows:
        """Run one statement in autocommit mode; return its rows ([] when it has none)."""
        with self.connect(dbname) as conn:
            try:
                cur = conn.execute(query, params)
                return cur.fetchall() if cur.description else []
            except psycopg.Error as exc:
                msg = f"query failed on {self.data_dir}: {one_line(str(exc))}"
                raise PostgresError(msg) from exc

    def psql_env(self) -> dict[str, str]:
        """Environment for client tools (psql, pgbench, pg_dump, pg_amcheck…) aimed here."""
        env = server_env()
        env.update(PGHOST=str(self.socket_dir), PGPORT=str(self.port), PGUSER=self.superuser)
        env["PGDATABASE"] = "postgres"
        return env

    def run_tool(self, name: str, *args: str | Path, check: bool = True, **kwargs: Any) -> Proc:
        """Run ``bindir/name`` as the run-as user against this cluster. Captures text output
        unless stdout/stderr are given; ``check`` turns failure into a one-line PostgresError."""
        if not {"stdout", "stderr", "capture_output"} & kwargs.keys():
            kwargs["capture_output"] = True
        kwargs.setdefault("text", True)
        cmd = [tool(self.bindir, name), *args]
        r = run_as(cmd, runas=self.runas, env=self.psql_env(), **kwargs)
        if check and r.returncode != 0:
            err = r.stderr.decode(errors="replace") if isinstance(r.stderr, bytes) else r.stderr
            raise PostgresError(f"{name} exited with {r.returncode}: {error_line(err or '')}")
        return r

    def _read_log(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_size(self) -> int:
        """Current length of the server log: pass it to :meth:`log_since` later."""
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        """The server log from ``offset`` (a :meth:`log_size`) on."""
        return self._read_log(offset)

    def log_tail(self, n: int = 50) -> str:
        """Last ``n`` lines of the server log (pg_ctl's ``-l`` file)."""
        return "\n".join(self._read_log(0).splitlines()[-n:])
