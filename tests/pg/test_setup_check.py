"""`pgdr setup` configures archiving on a fresh server; `pgdr check` proves the chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from tests.fixtures.pgconfig import add_postgres
from tests.fixtures.pgdr_run import pgdr

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def test_setup_apply_restart_then_check(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    c = make_cluster(settings={"wal_level": "minimal", "max_wal_senders": 0, "archive_mode": "off"})
    cfg: Path = archive_setup["cfg"]
    add_postgres(cfg, c)
    shown = json.loads(pgdr("--config", cfg, "--json", "setup").stdout)
    assert {r["name"]: r["status"] for r in shown["rows"]}["archive_mode"] == "change"
    assert shown["restart_needed"] is True
    r = pgdr("--config", cfg, "--json", "check")
    assert r.returncode == 3 and "archive_mode" in r.stderr
    applied = json.loads(pgdr("--config", cfg, "--json", "setup", "--apply").stdout)
    statuses = {r["name"]: r["status"] for r in applied["rows"]}
    assert statuses["wal_level"] == "restart-needed" and statuses["archive_command"] == "applied"
    # A key-file repository archives through the resident pusher too (no import of the
    # repository stack per segment), beside the server's OS user's state
    command = {r["name"]: r["wanted"] for r in applied["rows"]}["archive_command"]
    assert " wal-push --spool " in command and command.endswith("/pusher %p"), command
    (entry,) = json.loads(pgdr("--config", cfg, "--json", "audit").stdout)["entries"]
    assert entry["action"] == "setup-apply" and "archive_command" in entry["details"]["changed"]
    c.configure({"max_wal_senders": 4})  # wal_level=replica needs senders > 0 allowed
    c.restart()
    c.sql("CREATE TABLE t AS SELECT 1")
    r = pgdr("--config", cfg, "--json", "check")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["archive_seconds"] is not None and doc["archive_seconds"] < 30
    assert all(x["ok"] for x in doc["checks"] if x["critical"])

    # Busy servers: the same chain through the asynchronous spool (archive_command reloads).
    spool = Path(archive_setup["root"]) / "spool"
    r = pgdr("--config", cfg, "--json", "setup", "--apply", "--async-spool", spool)
    assert r.returncode == 0, r.stderr
    statuses = {r["name"]: r["status"] for r in json.loads(r.stdout)["rows"]}
    assert statuses["archive_command"] == "applied"
    (command,) = c.sql("SHOW archive_command")[0]
    assert f"test -f {spool}/acked/%f ||" in command and f"--async --spool {spool}" in command
    # The archiver picks up the reloaded command at its next cycle: the first check may still
    # go through the synchronous command, a later one must go through the spool.
    for i in range(5):
        c.sql(f"CREATE TABLE t{i} AS SELECT 1")  # something to switch away from
        r = pgdr("--config", cfg, "--json", "check")
        assert r.returncode == 0, r.stdout + r.stderr
        if (spool / "acked").is_dir() and any((spool / "acked").iterdir()):
            break
    else:
        raise AssertionError(f"nothing went through the spool; {c.log_tail(10)}")
