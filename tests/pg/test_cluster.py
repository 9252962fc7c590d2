"""Real throw-away clusters: lifecycle, ownership, failure reporting, and PostgreSQL itself as
the oracle for the WAL/timeline arithmetic in pgdr.pg.wal and pgdr.pg.timeline."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from pgdr.errors import PostgresError
from pgdr.pg.binaries import server_version
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, pid_alive
from pgdr.pg.timeline import ancestry, parse_history, timeline_for_lsn
from pgdr.pg.wal import (
    backup_history_name,
    parse_lsn,
    segment_name,
    segments_between,
    segno_before_lsn,
    segno_of_lsn,
    timeline_of_history,
)
from tests.fixtures.pg import FAST_SETTINGS
from tests.pg.intruder import assert_refused

pytestmark = pytest.mark.pg

MakeCluster = Callable[..., Cluster]


@pytest.fixture(scope="module")
def shared(pg_bindir: Path, pg_base_dir: Path) -> Iterator[Cluster]:
    """One started cluster for the tests that only read (initdb is the slow part)."""
    # archiving on so PostgreSQL keeps backup history files in pg_wal (see the backup test)
    settings = {**FAST_SETTINGS, "archive_mode": "on", "archive_command": "true"}
    with Cluster.create(pg_base_dir / "shared", bindir=pg_bindir, settings=settings) as c:
        c.start()
        yield c


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def _postgres_pids(postmaster: int) -> list[int]:
    """The postmaster and its children."""
    pids = [postmaster]
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return pids


def test_create_start_query_stop(pg_cluster: Cluster, pg_bindir: Path) -> None:
    c = pg_cluster
    assert c.is_running()
    assert c.sql("SELECT 1") == [(1,)]
    assert c.sql("SHOW data_checksums") == [("on",)]
    assert c.sql("SHOW fsync") == [("off",)]
    assert c.sql("SHOW port") == [(str(c.port),)]
    assert c.sql("SELECT %s::int + 1", (41,)) == [(42,)]
    assert c.sql("CREATE TABLE t (x int)") == []
    assert server_version(pg_bindir) >= 13
    assert int(c.sql("SHOW server_version_num")[0][0]) // 10000 == server_version(pg_bindir)
    assert c.wait_ready(5) < 5
    c.stop()
    assert not c.is_running()
    c.stop()  # no-op
    c.restart()
    assert c.sql("SELECT count(*) FROM t") == [(0,)]
    # settings replace earlier lines (ALTER SYSTEM style) and quote like PostgreSQL does
    c.configure({"WORK_MEM": "8MB", "application_name": "it's a \\ test"})
    c.configure({"work_mem": "9MB"})
    c.reload()
    assert c.sql("SHOW work_mem") == [("9MB",)]
    assert c.sql("SHOW application_name") == [("it's a \\ test",)]
    auto_conf = (c.data_dir / "postgresql.auto.conf").read_text().lower()
    assert auto_conf.count("work_mem") == 1 and auto_conf.count("\nport =") == 1


def test_server_runs_as_unprivileged_user(shared: Cluster) -> None:
    pid = shared.postmaster_pid()
    assert pid is not None
    pids = _postgres_pids(pid)
    assert len(pids) > 3  # checkpointer, walwriter, … run too
    uids = {_uid(p) for p in pids}
    assert uids == {shared.runas.uid}
    assert 0 not in uids
    if os.geteuid() == 0:
        assert shared.runas.name == "postgres"
        assert shared.data_dir.stat().st_uid == shared.runas.uid
    assert shared.sql("SELECT current_user") == [("postgres",)]


def test_two_clusters_at_once(make_cluster: MakeCluster, shared: Cluster) -> None:
    a, b = make_cluster(), shared
    assert a.port != b.port
    a.sql("CREATE TABLE only_in_a ()")
    for c in (a, b):
        with psycopg.connect(c.conninfo()) as conn:
            found = conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'")
            assert found.fetchone() == ((1,) if c is a else (0,))


def test_only_its_own_os_user_gets_in(shared: Cluster, pg_bindir: Path) -> None:
    """No TCP listener, no trust: another OS user reaches it neither way; our files are
    owner-only."""
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=shared.port, user="postgres", connect_timeout=5)
    assert_refused(pg_bindir, shared.socket_dir, shared.port)
    for name in ("pg_hba.conf", "pg_ident.conf"):
        assert "trust" not in (shared.data_dir / name).read_text()
        assert (shared.data_dir / name).stat().st_mode & 0o077 == 0
    assert shared.log_file.stat().st_mode & 0o077 == 0
    assert shared.socket_dir.stat().st_mode & 0o077 == 0


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port someone else listens on (clusters pgdr creates have no TCP listener: a clash
    needs one, as a restored data directory started with ``restore --start`` has)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


TCP = {"listen_addresses": "127.0.0.1"}


def test_fixed_port_in_use_fails_with_one_line_reason(
    make_cluster: MakeCluster, taken_port: int
) -> None:
    b = make_cluster(port=taken_port, start=False, settings=TCP)
    with pytest.raises(PostgresError) as info:
        b.start(timeout=20)
    msg = str(info.value)
    assert "\n" not in msg
    assert "port already in use" in msg and "Address already in use" in msg
    assert info.value.hint is not None and str(b.log_file) in info.value.hint
    assert not b.is_running()


def test_auto_port_collision_picks_another_port(make_cluster: MakeCluster, taken_port: int) -> None:
    b = make_cluster(start=False, settings=TCP)
    b.port = taken_port  # as if someone grabbed b's port between choosing and starting
    b.configure({})
    b.start()
    assert b.port != taken_port
    assert b.sql("SHOW port") == [(str(b.port),)]


def test_start_failure_reports_server_reason(make_cluster: MakeCluster) -> None:
    c = make_cluster(start=False, settings={"shared_buffers": "lots"})
    with pytest.raises(PostgresError) as info:
        c.start(timeout=20)
    msg = str(info.value)
    assert "\n" not in msg
    assert "failed to start" in msg and "FATAL" in msg and "postgresql.auto.conf" in msg
    # recovery.signal without restore_command: PostgreSQL's own words come through
    c.configure({"shared_buffers": "32MB"})
    signal_file = c.data_dir / "recovery.signal"
    signal_file.touch()
    with pytest.raises(PostgresError, match="must specify restore_command"):
        c.start(timeout=20)
    # a stale postmaster.pid naming a live, unrelated process (here: pytest itself)
    (c.data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{c.data_dir}\n")
    assert not c.is_running()
    c.destroy()  # must not signal that process (we are still here)


def test_destroy_leaves_no_process_and_no_directory(make_cluster: MakeCluster) -> None:
    c = make_cluster()
    c.sql("SELECT 1")
    pid = c.postmaster_pid()
    assert pid is not None
    pids = _postgres_pids(pid)
    base = c.data_dir.parent
    c.destroy()
    assert not any(pid_alive(p) for p in pids)
    assert not base.exists() and not c.socket_dir.exists()
    c.destroy()  # idempotent


def test_destroy_kills_a_server_pg_ctl_cannot_stop(make_cluster: MakeCluster) -> None:
    c = make_cluster()
    pid = c.postmaster_pid()
    assert pid is not None
    pids = _postgres_pids(pid)
    c.bindir = c.data_dir  # pg_ctl "missing": stop fails, destroy must still reap
    c.destroy()
    assert not any(pid_alive(p) for p in pids)


def test_context_manager_destroys(pg_bindir: Path, pg_base_dir: Path) -> None:
    with Cluster.create(pg_base_dir / "ctx", bindir=pg_bindir, settings={"fsync": False}) as c:
        c.start()
        pid = c.postmaster_pid()
        assert pid is not None and c.sql("SELECT 1") == [(1,)]
    assert not pid_alive(pid)
    assert not (pg_base_dir / "ctx").exists()


def test_attach_copied_data_dir_without_config_files(
    make_cluster: MakeCluster, pg_base_dir: Path
) -> None:
    src = make_cluster()
    src.sql("CREATE TABLE kept AS SELECT generate_series(1, 100) AS x")
    src.stop()
    copy = pg_base_dir / "restored" / "pgdata"
    copy.parent.mkdir()
    copy.parent.chmod(0o755)
    shutil.copytree(src.data_dir, copy, symlinks=True)
    for name in ("postgresql.conf", "pg_hba.conf"):  # as in a backup of a Debian cluster
        (copy / name).unlink()
    src.start()  # the original runs on its port while the copy starts
    with Cluster.attach(copy, bindir=src.bindir, settings={"fsync": False}) as c:
        assert c.port != src.port
        assert copy.stat().st_uid == c.runas.uid
        c.start()
        assert c.sql("SELECT count(*) FROM kept") == [(100,)]
        assert c.sql("SHOW data_checksums") == [("on",)]
        assert (copy.parent / "pgdata.log").exists()
    assert not copy.exists() and not (copy.parent / "pgdata.log").exists()
    with pytest.raises(PostgresError, match="not a PostgreSQL data directory"):
        Cluster.attach(pg_base_dir)


def test_run_tool_and_psql_env(shared: Cluster) -> None:
    r = shared.run_tool("psql", "-Atc", "SELECT current_user || ':' || current_database()")
    assert r.stdout.strip() == "postgres:postgres"
    env = shared.psql_env()
    assert env["PGPORT"] == str(shared.port) and env["PGHOST"] == str(shared.socket_dir)
    with pytest.raises(PostgresError) as info:
        shared.run_tool("psql", "-v", "ON_ERROR_STOP=1", "-c", "SELECT * FROM no_such_table")
    assert "\n" not in str(info.value) and "no_such_table" in str(info.value)
    with pytest.raises(PostgresError, match="query failed"):
        shared.sql("SELECT * FROM no_such_table")
    assert "database system is ready to accept connections" in shared.log_tail(100)


# --- PostgreSQL as the oracle for pgdr.pg.wal -----------------------------------------------

LSNS = ["0/1", "0/3000028", "0/FFFFFF", "0/1000000", "0/1000001", "0/FF000000", "0/FFFFFFFF",
        "1/0", "1/1", "16/B374D848", "16/B4000000", "FF/FFFFFFFF"]  # fmt: skip


@pytest.mark.parametrize("wal_segsize_mb", [16, 1, 64])
def test_segment_names_match_postgresql(
    make_cluster: MakeCluster, shared: Cluster, wal_segsize_mb: int
) -> None:
    """pg_walfile_name() is XLByteToPrevSeg; pg_walfile_name_offset() is XLByteToSeg except
    that before PostgreSQL 17 it too named the previous segment for an LSN exactly on a
    segment boundary (fixed upstream in 17). pgdr's functions are the exact macros."""
    c = (
        shared
        if wal_segsize_mb == 16
        else make_cluster(initdb_args=[f"--wal-segsize={wal_segsize_mb}"])
    )
    old_boundary_quirk = server_version(c.bindir) < 17
    seg_size = int(
        c.sql("SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'")[0][0]
    )
    assert seg_size == wal_segsize_mb * 1024 * 1024
    for text in LSNS:
        lsn = parse_lsn(text)
        (name, offset), (prev_name,) = (
            c.sql("SELECT file_name, file_offset FROM pg_walfile_name_offset(%s::pg_lsn)", (text,))[
                0
            ],
            c.sql("SELECT pg_walfile_name(%s::pg_lsn)", (text,))[0],
        )
        on_boundary = lsn % seg_size == 0
        quirk = on_boundary and old_boundary_quirk
        expect = segno_before_lsn(lsn, seg_size) if quirk else segno_of_lsn(lsn, seg_size)
        assert segment_name(1, expect, seg_size) == name, text
        assert lsn % seg_size == offset, text
        assert segment_name(1, segno_before_lsn(lsn, seg_size), seg_size) == prev_name, text


def test_backup_start_and_stop_files_match_segments_between(shared: Cluster) -> None:
    """The backup history file PostgreSQL writes names the first and last WAL file a backup
    needs; segments_between(start, stop) must span exactly those."""
    with shared.connect() as conn:
        row = conn.execute("SELECT pg_backup_start('pgdr-test', true)").fetchone()
        assert row is not None
        start = str(row[0])
        conn.execute("CREATE TABLE during_backup AS SELECT generate_series(1, 1000) AS x")
        row = conn.execute("SELECT lsn, labelfile FROM pg_backup_stop(false)").fetchone()
        assert row is not None
        stop, label = str(row[0]), row[1]
    needed = segments_between(parse_lsn(start), parse_lsn(stop))
    first, last = segment_name(1, needed[0]), segment_name(1, needed[-1])
    assert f"START WAL LOCATION: {start} (file {first})" in label
    history = shared.data_dir / "pg_wal" / backup_history_name(1, parse_lsn(start))
    text = history.read_text()
    assert f"START WAL LOCATION: {start} (file {first})" in text
    assert f"STOP WAL LOCATION: {stop} (file {last})" in text
    assert shared.sql("SELECT pg_walfile_name(%s::pg_lsn)", (stop,)) == [(last,)]


# --- PostgreSQL as the oracle for pgdr.pg.timeline ------------------------------------------


def _promote_through_recovery(c: Cluster) -> str:
    """Stop, start with recovery.signal and no archive: PostgreSQL replays pg_wal, then picks
    a new timeline. Return the current WAL insert LSN afterwards."""
    c.sql("CREATE TABLE IF NOT EXISTS ticks (x int); INSERT INTO ticks VALUES (1)")
    c.stop()
    signal_file = c.data_dir / "recovery.signal"
    signal_file.touch()
    chown_tree(signal_file, c.runas)
    c.start()
    c.wait_ready(30)
    return str(c.sql("SELECT pg_current_wal_lsn()")[0][0])


def test_timeline_history_from_real_promotions(make_cluster: MakeCluster) -> None:
    c = make_cluster(settings={"restore_command": "false"})
    _promote_through_recovery(c)
    current = _promote_through_recovery(c)
    (walfile,) = c.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")[0]
    assert walfile.startswith("00000003")
    history_file = c.data_dir / "pg_wal" / "00000003.history"
    assert timeline_of_history(history_file.name) == 3
    history = parse_history(history_file.read_text())
    assert [s.parent_tli for s in history] == [1, 2]
    spans = ancestry(3, history)
    assert [s.tli for s in spans] == [1, 2, 3]
    switch2 = history[1].switch_lsn
    assert timeline_for_lsn(3, history, switch2) == 3
    assert timeline_for_lsn(3, history, switch2 - 1) == 2
    assert timeline_for_lsn(3, history, parse_lsn(current)) == 3
    # the segment holding a switch point exists on the NEW timeline (it is where the new
    # timeline's first record went), which is the file segments_needed() picks for it
    wal_files = set(os.listdir(c.data_dir / "pg_wal"))
    assert segment_name(3, segno_of_lsn(switch2)) in wal_files
