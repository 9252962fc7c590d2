"""Each alert condition forced for real against `pgdr serve`, and its firing and then its
resolved notification received by a local HTTP receiver through the webhook notifier —
exactly once each (de-duplicated). Database down and repository unreachable (and the backup
age that follows) are forced in test_daemon_outage.py."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import make_dir, resolve_runas
from tests.fixtures.alerts import alert_posts, wait_alert
from tests.fixtures.pg import FAST_SETTINGS
from tests.fixtures.pgdr_run import pgdr
from tests.fixtures.receiver import Receiver, receiver
from tests.pg.archiving import _archive_setup, archive_command
from tests.pg.serve import Serve, write_config

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

CONFIG = """
[schedule]
backup_full = "off"
backup_incr = "@every 3s"
verify = "@every 2s"
drill = "@every 5s"
export = "off"

[alerts]
size_band_pct = 40
size_min_backups = 2
storage_free_min_pct = 25
replica_lag_max_s = 1.5
wal_lag_max_segments = 3

[daemon]
state_dir = "STATE_DIR"
eval_interval_s = 0.5
retry_s = 1

[notifications.hook]
type = "webhook"
url = "env:PGDR_TEST_HOOK"

[drill]
amcheck = false
checksums = false

[[drill.databases.postgres.assertions]]
name = "canary"
sql = "SELECT NOT bool_or(broken) FROM canary"
"""
VOLUME_MB = 384


@contextlib.contextmanager
def tmpfs(path: Path) -> Iterator[Path]:
    """A small file system of our own, so that filling it is a real low-space condition."""
    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MB}m,mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


class Writer:
    """Commits a row every 0.2 s on the primary (replication needs WAL to measure lag)."""

    def __init__(self, c: Cluster) -> None:
        self.c, self.stop = c, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with self.c.connect() as conn:
            while not self.stop.wait(0.2):
                conn.execute("INSERT INTO ticks DEFAULT VALUES")

    def __enter__(self) -> Writer:
        self.t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.t.join(10)


def make_standby(primary: Cluster, base: Path) -> Cluster:
    who = resolve_runas()
    base.mkdir()
    base.chmod(0o755)
    dest = make_dir(base / "standby", who)
    primary.run_tool("pg_basebackup", "-D", str(dest), "-R", "-X", "stream", "-c", "fast")
    sb = Cluster.attach(
        dest, bindir=primary.bindir, settings={**FAST_SETTINGS, "archive_mode": "off"}
    )
    sb.start()
    return sb


def test_every_alert_fires_and_resolves(pg_bindir: Path, pg_base_dir: Path) -> None:
    with tmpfs(pg_base_dir / f"vol-{time.monotonic_ns()}") as vol, receiver() as rcv:
        setup = _archive_setup(vol)
        primary = Cluster.create(
            vol / "primary",
            bindir=pg_bindir,
            settings={
                **FAST_SETTINGS,
                "archive_mode": "on",
                "archive_command": archive_command(setup["cfg"]),
                "archive_timeout": 0,
            },
        )
        standby = None
        srv = None
        try:
            primary.start()
            primary.sql("CREATE TABLE canary (broken bool NOT NULL)")
            primary.sql("INSERT INTO canary VALUES (false)")
            primary.sql("CREATE TABLE ticks (id serial PRIMARY KEY, at timestamptz DEFAULT now())")
            standby = make_standby(primary, pg_base_dir / f"standby-{time.monotonic_ns()}")
            cfg, port = write_config(setup, primary, CONFIG)
            os.environ["PGDR_TEST_HOOK"] = rcv.url + "/hook"
            srv = Serve(cfg, port, setup["root"] / "serve.log").start()
            _run_phases(srv, rcv, primary, standby, setup, vol)
            assert srv.stop() == 0
        finally:
            os.environ.pop("PGDR_TEST_HOOK", None)
            if srv is not None:
                srv.kill()
            if standby is not None:
                standby.destroy()
            primary.destroy()


def _run_phases(
    srv: Serve, rcv: Receiver, primary: Cluster, standby: Cluster, setup: dict[str, Any], vol: Path
) -> None:
    repo = Path(str(setup["url"]).removeprefix("file://"))
    wait_alert(rcv, srv, "backup_age", "firing")  # no backup yet
    wait_alert(rcv, srv, "backup_age", "resolved")  # the first scheduled one

    # replica_lag: the standby applies commits 3 s late
    with Writer(primary):
        standby.sql("ALTER SYSTEM SET recovery_min_apply_delay = '3s'")
        standby.reload()
        wait_alert(rcv, srv, "replica_lag", "firing")
        standby.sql("ALTER SYSTEM SET recovery_min_apply_delay = 0")
        standby.reload()
        wait_alert(rcv, srv, "replica_lag", "resolved")

    # wal_archive_failing and wal_archive_lag: archive_command fails, segments pile up
    (command,) = primary.sql("SHOW archive_command")[0]
    primary.sql("ALTER SYSTEM SET archive_command = 'false'")
    primary.reload()
    for _ in range(5):
        primary.sql("INSERT INTO ticks DEFAULT VALUES")
        primary.sql("SELECT pg_switch_wal()")
    wait_alert(rcv, srv, "wal_archive_failing", "firing")
    wait_alert(rcv, srv, "wal_archive_lag", "firing")
    primary.sql(sql.SQL("ALTER SYSTEM SET archive_command = {}").format(sql.Literal(command)))
    primary.reload()
    wait_alert(rcv, srv, "wal_archive_failing", "resolved")
    wait_alert(rcv, srv, "wal_archive_lag", "resolved")

    # storage_free_repository and _pgdata: both live on this small file system
    st = os.statvfs(vol)
    fill = st.f_bavail * st.f_frsize - int(VOLUME_MB * 0.15) * 2**20
    filler = vol / "filler"
    with open(filler, "wb") as f:
        f.truncate(fill)
        os.posix_fallocate(f.fileno(), 0, fill)
    wait_alert(rcv, srv, "storage_free_repository", "firing")
    wait_alert(rcv, srv, "storage_free_pgdata", "firing")
    r = pgdr("--config", setup["cfg"], "--json", "status")  # the same picture, once
    doc, _end = json.JSONDecoder().raw_decode(r.stdout)
    assert r.returncode == 91, r.stderr  # warnings only
    assert set(doc["firing"]) == {"storage_free_repository", "storage_free_pgdata"}
    assert "2 alert(s) firing" in r.stderr
    filler.unlink()

    # drill_failed: bad data reaches the backups, so the next drill's check fails
    primary.sql("UPDATE canary SET broken = true")
    wait_alert(rcv, srv, "storage_free_repository", "resolved")
    wait_alert(rcv, srv, "storage_free_pgdata", "resolved")

    # verify_failed: a stored object is damaged, then repaired
    record = sorted((repo / "manifests" / "job").iterdir())[0]
    good = record.read_bytes()
    record.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    wait_alert(rcv, srv, "verify_failed", "firing")
    record.write_bytes(good)
    wait_alert(rcv, srv, "verify_failed", "resolved")

    # backup_size: 24 MiB more in the data directory, then gone again
    ballast = Path(primary.data_dir) / "pgdr_test_ballast"
    ballast.write_bytes(os.urandom(24 << 20))
    wait_alert(rcv, srv, "backup_size", "firing")
    ballast.unlink()
    wait_alert(rcv, srv, "backup_size", "resolved")

    wait_alert(rcv, srv, "drill_failed", "firing", timeout=60)
    primary.sql("UPDATE canary SET broken = false")
    wait_alert(rcv, srv, "drill_failed", "resolved", timeout=60)

    posts = alert_posts(rcv)
    forced = {
        "backup_age",  # at the start: no backup yet; resolved by the first one
        "replica_lag",
        "wal_archive_failing",
        "wal_archive_lag",
        "storage_free_repository",
        "storage_free_pgdata",
        "verify_failed",
        "backup_size",
        "drill_failed",
    }
    for name in sorted(forced):  # de-duplicated: one firing, one resolved, in that order
        assert [to for n, to in posts if n == name] == ["firing", "resolved"], (name, posts)
    assert {n for n, _ in posts} == forced, posts  # nothing else fired
    st = srv.status()
    assert st["firing"] == [] and st["daemon"]["undelivered_notifications"] == 0
