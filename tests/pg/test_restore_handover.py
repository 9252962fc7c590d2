"""A restored server started by the operator (``pg_ctl start`` as postgres) gets what the
restore knew from restore_command's shell, and asks pgdr only for what the restore could
not know: WAL production archived after the restore ran (``pgdr.restore.seed``)."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port, resolve_runas
from pgdr.pg.wal import is_segment
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.fixtures.restore import open_repo, source, wait_promoted
from tests.pg.archiving import wait_archived

pytestmark = [pytest.mark.pg]


def logging_command(setup: dict) -> tuple[str, Path]:
    """default_restore_command whose Python start is logged (one line per pgdr started by
    restore_command: its arguments)."""
    root = Path(setup["root"])
    log = root / f"pgdr-starts-{time.monotonic_ns()}.log"
    log.touch()
    wrapper = root / f"logging-python-{time.monotonic_ns()}"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {shlex.quote(sys.executable)} "$@"\n')
    wrapper.chmod(0o755)
    who = resolve_runas()
    if who.switches:
        os.chown(log, who.uid, who.gid)
    cmd = default_restore_command(setup["cfg"], None)
    return cmd.replace(shlex.quote(sys.executable), str(wrapper), 1), log


def asked(log: Path) -> list[str]:
    """The WAL file names pgdr was started for (``wal-fetch ... NAME DEST``)."""
    return [line.split()[-2] for line in log.read_text().splitlines() if line.strip()]


def switch(c: Cluster) -> str:
    name = str(c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0])
    wait_archived(c, name)
    return name


def start(dest: Path) -> Cluster:
    c = Cluster.attach(dest, port=free_port())
    c.owned.append(dest)
    c.start()  # pg_ctl start, as the server's OS user
    wait_promoted(c)
    return c


def test_archive_growing_after_the_restore_is_replayed_to_its_new_end(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    """Target latest, production keeps archiving: the segments archived after the restore
    ran (and before the start) are replayed, none skipped for the restore's end-of-archive
    knowledge; pgdr starts only for those later names, never for a history file or a
    segment the restore placed."""
    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo())
    src.sql("INSERT INTO events (note) SELECT 'known ' || g FROM generate_series(1, 200) g")
    known_end = switch(src)
    command, log = logging_command(archive_setup)
    dest = pg_base_dir / f"growing-{time.monotonic_ns()}"
    restore(open_repo(archive_setup), dest, target=Target("latest"), restore_command=command)
    # production goes on after the restore wrote the data directory
    for batch in range(3):
        src.sql(
            f"INSERT INTO events (note) SELECT 'later {batch} ' || g FROM generate_series(1, 300) g"
        )
        switch(src)
    c = start(dest)
    try:
        later = c.sql("SELECT count(*) FROM events WHERE note LIKE 'later %'")[0][0]
        assert later == 900
        names = asked(log)
        assert names, "nothing archived after the restore reached pgdr"
        assert all(is_segment(n) and n[8:] > known_end[8:] for n in names), names
    finally:
        c.destroy()


def test_time_target_with_all_wal_placed_starts_no_pgdr(
    make_cluster: Callable[..., Cluster], archive_setup: dict, pg_base_dir: Path
) -> None:
    """A restore to a time whose WAL the restore placed promotes without restore_command
    starting pgdr once: segments handed over, the history probe of the promotion answered
    from what the restore knew — and the result is exact."""
    src = source(make_cluster, archive_setup)
    take_backup(open_repo(archive_setup), src.conninfo())
    src.sql("INSERT INTO events (note) SELECT 'kept ' || g FROM generate_series(1, 300) g")
    switch(src)
    src.sql("INSERT INTO events (note) VALUES ('kept last')")
    (target,) = src.sql("SELECT clock_timestamp()")[0]
    time.sleep(0.05)
    src.sql("INSERT INTO events (note) VALUES ('after the target')")
    # more WAL than PostgreSQL reads ahead (wal_decode_buffer_size) before the archive's end
    src.sql("INSERT INTO events (note) SELECT repeat('y', 900) FROM generate_series(1, 4000)")
    switch(src)
    command, log = logging_command(archive_setup)
    dest = pg_base_dir / f"pitr-{time.monotonic_ns()}"
    restore(
        open_repo(archive_setup), dest, target=Target("time", target.isoformat()),
        restore_command=command,
        archive=True,
    )  # fmt: skip
    c = start(dest)
    try:
        notes = {r[0] for r in c.sql("SELECT note FROM events WHERE note NOT LIKE 'before%'")}
        assert notes == {f"kept {g}" for g in range(1, 301)} | {"kept last"}
        assert asked(log) == []
        (tli,) = c.sql("SELECT timeline_id FROM pg_control_checkpoint()")[0]
        assert tli == 2
    finally:
        c.destroy()
