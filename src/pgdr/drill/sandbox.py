"""The throw-away instance a drill restores into: a fresh directory, a free port, the
unprivileged OS user, settings that keep it from touching production (no archiving, no
replication, its own pg_hba), and teardown that leaves nothing behind — also after the
drill process itself was killed (see ``state``).

The sandbox holds a full copy of production, so only its own OS user (and root) may reach
it: the base directory is 0700 and belongs to the server's OS user, every file in it is
owner-only, the server has no TCP listener and admits peers through :mod:`pgdr.pg.access`
only, and it starts with an environment that holds no pgdr secret (``server_env``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pgdr.drill.state import Marker, owner_alive, process_start, read_markers, write_marker
from pgdr.errors import PostgresError
from pgdr.pg import access
from pgdr.pg.binaries import find_bindir, server_env, tool
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, kill_tree, process_in_dir, resolve_runas, run_as
from pgdr.pg.recovery_watch import exit_error


def sandbox_settings(base: Path, shared_buffers: str) -> dict[str, object]:
    """Written over the restored postgresql.auto.conf: a drill must never archive into the
    production repository, replicate from production, or need production's certificates."""
    return {
        "archive_mode": "off",
        "archive_command": "",
        "archive_library": "",
        "primary_conninfo": "",
        "primary_slot_name": "",
        "ssl": "off",
        "hba_file": str(base / "pg_hba.conf"),
        "ident_file": str(base / "pg_ident.conf"),
        **access.settings(),
        "logging_collector": "off",
        "shared_buffers": shared_buffers,
        "fsync": "off",
        "synchronous_commit": "off",
        "hot_standby": "on",
        "max_connections": "100",
        "cluster_name": "pgdr-drill",
    }


class Sandbox:
    def __init__(self, base: Path, state_dir: Path, marker: Marker) -> None:
        self.base = base
        self.data_dir = base / "data"
        self.state_dir = state_dir
        self.marker = marker
        self.cluster: Cluster | None = None
        self.log_mark = 0  # where the last start's part of the server log begins

    @classmethod
    def create(
        cls, parent: Path | None, state_dir: Path, drill_id: str, superuser: str = "postgres"
    ) -> Sandbox:
        """Record the marker first, then make the directory: a crash in between leaves a
        marker without a directory, never a directory without a marker. ``superuser``: the
        role pgdr connects as (the only one :mod:`pgdr.pg.access` admits)."""
        where = Path(parent or tempfile.gettempdir()).absolute()
        base = where / f"pgdr-drill-{drill_id}"
        me = os.getpid()
        marker = Marker(
            drill_id,
            me,
            process_start(me),
            str(base),
            str(base / "data"),
            free_port(),
            datetime.now(UTC).isoformat(),
        )
        write_marker(state_dir, marker)
        where.mkdir(parents=True, exist_ok=True)
        runas = resolve_runas()
        base.mkdir(mode=0o700)
        base.chmod(0o700)
        (base / "tablespaces").mkdir(mode=0o700)  # every tablespace of the restored copy
        chown_tree(base, runas)  # the server's OS user must traverse it; nobody else may
        access.write_files(base, superuser, runas)
        return cls(base, state_dir, marker)

    @property
    def port(self) -> int:
        return self.marker.port

    @property
    def tablespaces(self) -> Path:
        """Where the restored copy's tablespaces go, ``<oid>`` each: inside the sandbox,
        never the locations production's manifest names."""
        return self.base / "tablespaces"

    def start(
        self,
        settings: dict[str, object],
        timeout: float,
        bindir: Path | None = None,
        superuser: str = "postgres",
    ) -> Cluster:
        owner_only(self.base)  # restored files keep production's modes (e.g. group access)
        self.cluster = Cluster.attach(
            self.data_dir,
            port=self.port,
            base_dir=self.base,
            settings=settings,
            bindir=bindir,
            superuser=superuser,
        )
        self.log_mark = self.cluster.log_size()  # this start's part of the server log
        if not self.cluster.socket_dir.is_relative_to(self.base):  # path too long: under /tmp
            self.marker.extra.append(str(self.cluster.socket_dir))
            write_marker(self.state_dir, self.marker)
        self.cluster.start(timeout=timeout)
        return self.cluster

    def start_recovery(
        self,
        settings: dict[str, object],
        timeout: float,
        bindir: Path | None,
        superuser: str,
        target: str,
    ) -> Cluster:
        """``start`` a restored copy; a server that exits during recovery (before it accepts
        connections) is reported by its FATAL line and the ``target`` it was recovering to."""
        try:
            return self.start(settings, timeout, bindir, superuser)
        except PostgresError:
            c = self.cluster
            if c is None or c.is_running():
                raise
            raise exit_error(c.log_since(self.log_mark), "the sandbox", target) from None

    def keep(self) -> None:
        self.marker.kept = True
        write_marker(self.state_dir, self.marker)

    def destroy(self) -> None:
        if self.cluster is not None:
            self.cluster.destroy()
        remove_sandbox(self.marker)
        (self.state_dir / "sandboxes" / f"{self.marker.drill_id}.json").unlink(missing_ok=True)


def owner_only(root: Path) -> None:
    """Clear the group and other bits of everything under ``root`` (links are left alone:
    their mode means nothing, and a tablespace link must not lead us outside)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (dirpath, *(os.path.join(dirpath, n) for n in (*dirnames, *filenames))):
            st = os.lstat(name)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                os.chmod(name, stat.S_IMODE(st.st_mode) & 0o700)


def _stop_postgres(data_dir: Path) -> None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not process_in_dir(pid, data_dir):
        return
    with contextlib.suppress(Exception):
        cmd: list[str | Path] = [
            tool(find_bindir(), "pg_ctl"),
            "-D",
            str(data_dir),
            "-m",
            "immediate",
            "-w",
            "-t",
            "30",
            "stop",
        ]
        run_as(cmd, runas=resolve_runas(), env=server_env(), capture_output=True, timeout=60)
    if process_in_dir(pid, data_dir):
        kill_tree(pid)


def _kill_strays(base: Path) -> None:
    """Processes still working for the sandbox (restore_command's WAL prefetchers) would
    recreate directories after we removed them."""
    needle = str(base).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def remove_sandbox(m: Marker) -> None:
    base = Path(m.base_dir)
    _stop_postgres(Path(m.data_dir))
    _kill_strays(base)
    for place in (base, *map(Path, m.extra)):  # data, log and (usually) socket dir: in base
        shutil.rmtree(place, ignore_errors=True)


def reap(state_dir: Path, *, include_kept: bool = False) -> list[Marker]:
    """Remove sandboxes whose drill process is gone (killed) — and kept ones on request.
    Returns what was removed."""
    removed = []
    for path, m in read_markers(state_dir):
        if m.kept and not include_kept:
            continue
        if not m.kept and owner_alive(m):
            continue  # a drill in progress
        remove_sandbox(m)
        if Path(m.base_dir).exists():
            continue  # could not remove: keep the marker so the next run tries again
        path.unlink(missing_ok=True)
        removed.append(m)
    return removed
