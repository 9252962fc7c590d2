"""Retention on a real cluster: after `expire`, stored bytes went down and the oldest point
the window promises restores exactly; deletion protection through the CLI."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.backup.run import take_backup
from pgdr.pg.cluster import Cluster
from pgdr.repo.verify import verify
from pgdr.restore.plan import Target
from pgdr.retention.expire import expire
from pgdr.retention.policy import Policy
from tests.fixtures.restore import open_repo, restored, source
from tests.pg.archiving import wait_archived

pytestmark = pytest.mark.pg


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgdr", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def typed(cfg: Path, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with a terminal on stdin and type ``answer`` at its prompt."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pgdr", "--json", "--config", str(cfg), *args],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(master, (answer + "\n").encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_expire_keeps_the_window_restorable_and_frees_space(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    src = source(make_cluster, archive_setup)
    src.sql(
        "CREATE TABLE big AS SELECT g, repeat(md5(random()::text), 40) AS pad "
        "FROM generate_series(1, 3000) g"
    )
    b1 = take_backup(open_repo(archive_setup), src.conninfo(), backup_type="full").backup_id
    src.sql("DROP TABLE big")  # its blobs now live only in b1 (and in WAL before b2)
    time.sleep(1.1)  # backup ids have one-second resolution
    b2 = take_backup(open_repo(archive_setup), src.conninfo()).backup_id
    src.sql("INSERT INTO events (note) SELECT 'before ws ' || g FROM generate_series(1, 50) g")
    time.sleep(1.1)
    ws = datetime.now(UTC)  # the window will start here: b2 ends before it, b3 after
    time.sleep(1.1)
    src.sql("INSERT INTO events (note) SELECT 'after ws ' || g FROM generate_series(1, 70) g")
    b3 = take_backup(open_repo(archive_setup), src.conninfo()).backup_id
    src.sql("INSERT INTO events (note) VALUES ('late')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    expected = src.sql("SELECT count(*) FROM events WHERE at <= %s", (ws,))[0][0]

    # Deletion protection through the CLI: nothing changes, distinct exit codes.
    cfg = Path(archive_setup["root"]) / "retention.toml"
    cfg.write_text(Path(archive_setup["cfg"]).read_text() + "[retention]\nwindow_seconds = 3600\n")
    dry = cli(cfg, "--json", "expire", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert all(b["keep"] for b in json.loads(dry.stdout)["backups"])
    assert cli(cfg, "delete-backup", b3).returncode == 80
    forced = cli(cfg, "delete-backup", b3, "--force")
    assert forced.returncode == 81 and "confirmation" in forced.stderr
    assert cli(cfg, "delete-backup", "20200101T000000ZF").returncode == 82
    assert {b["id"] for b in json.loads(dry.stdout)["backups"]} == {b1, b2, b3}

    now = datetime.now(UTC)
    result = expire(open_repo(archive_setup), Policy(now - ws), now=now)
    assert result.removed_backups == [b1] and result.anchors == {1: b2}
    assert result.wal_removed_files > 0 and result.gc is not None and result.gc.complete
    assert result.bytes_after < result.bytes_before - (1 << 20), "stored bytes went down"
    assert datetime.fromisoformat(result.window_start) == ws
    assert verify(open_repo(archive_setup), read_data=True).ok

    oldest = restored(make_cluster, pg_base_dir, archive_setup, Target("time", ws.isoformat()))
    try:
        assert oldest.sql("SELECT count(*) FROM events")[0][0] == expected
        assert oldest.sql("SELECT count(*) FROM events WHERE note LIKE 'after ws%'")[0][0] == 0
    finally:
        oldest.destroy()

    # A forced delete of a protected backup, confirmed by typing its id at the prompt.
    wrong = typed(cfg, b2, "delete-backup", b3, "--force")
    assert wrong.returncode == 81 and "protected" in wrong.stderr
    right = typed(cfg, b3, "delete-backup", b3, "--force")
    assert right.returncode == 0, right.stderr
    done = json.loads(right.stdout)
    assert done["forced"] and done["confirmation"] == "typed" and done["deleted"]
    assert "inside the window" in done["protected_reason"]
    assert b3 not in open_repo(archive_setup).list_manifests("backup")


def test_expire_on_a_quiet_cluster_keeps_the_last_restore_point(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, archive_setup: dict
) -> None:
    """Issue 12 item 0: a cluster quiet for longer than the window (idle, or archiving broken)
    once lost every backup and all WAL to `pgdr expire`."""
    src = source(make_cluster, archive_setup)
    bid = take_backup(open_repo(archive_setup), src.conninfo(), backup_type="full").backup_id
    rows = src.sql("SELECT count(*) FROM events")[0][0]
    cfg = Path(archive_setup["root"]) / "quiet.toml"
    cfg.write_text(Path(archive_setup["cfg"]).read_text() + "[retention]\nwindow_seconds = 2\n")
    time.sleep(3)  # quiet for longer than the window: nothing ended or was archived inside it

    out = cli(cfg, "--json", "expire")
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert done["removed_backups"] == [], done  # WAL before its start may go
    assert "last restore point" in done["backups"][0]["reason"]
    info = cli(cfg, "--json", "info")
    assert info.returncode == 0 and bid in info.stdout, info.stderr
    back = restored(make_cluster, pg_base_dir, archive_setup, Target("latest"))
    try:
        assert back.sql("SELECT count(*) FROM events")[0][0] == rows
    finally:
        back.destroy()
