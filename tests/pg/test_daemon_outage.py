"""The daemon keeps working while the database is down and while the repository is
unreachable, alerts on both (and on the backup age that follows), and recovers by itself:
the backup that could not run runs once afterwards, no slot is lost or run twice, and no job
record is lost."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pgdr.daemon.history import JobHistory
from pgdr.pg.cluster import Cluster
from tests.fixtures.alerts import alert_posts, wait_alert
from tests.fixtures.pgdr_run import pgdr
from tests.fixtures.receiver import receiver
from tests.pg.drilling import open_repo
from tests.pg.serve import Serve, archiving_cluster, job, write_config

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

CONFIG = """
[schedule]
backup_full = "off"
backup_incr = "@every 3s"
verify = "@every 2s"
drill = "off"
export = "off"

[alerts]
backup_max_age_s = 8

[daemon]
state_dir = "STATE_DIR"
eval_interval_s = 0.5
retry_s = 0.5
retry_max_s = 1

[notifications.hook]
type = "webhook"
url = "env:PGDR_TEST_HOOK"
"""


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_outages_alert_and_recover(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any]
) -> None:
    root: Path = archive_setup["root"]
    # The repository is reached through a symlink: pointing it nowhere makes the repository
    # unreachable (like a lost mount) without anything being able to write a new one there.
    link, real, away = root / "repo-link", root / "repo", root / "nowhere"
    link.symlink_to(real)
    cfg: Path = archive_setup["cfg"]
    cfg.write_text(cfg.read_text().replace(f"file://{real}", f"file://{link}"))
    archive_setup["url"] = f"file://{link}"
    cluster = archiving_cluster(make_cluster, cfg)
    cfg, port = write_config(archive_setup, cluster, CONFIG)
    with receiver() as rcv:
        os.environ["PGDR_TEST_HOOK"] = rcv.url + "/hook"
        srv = Serve(cfg, port, root / "serve.log").start()
        try:
            wait_alert(rcv, srv, "backup_age", "resolved")

            # the database goes down: alert, backups wait, everything else goes on
            cluster.stop("fast")
            wait_alert(rcv, srv, "postgres_down", "firing")
            verifies = job(srv.status(), "verify")["runs"]
            wait_alert(rcv, srv, "backup_age", "firing", timeout=30, count=2)
            st = srv.status()
            assert job(st, "verify")["runs"] > verifies  # still working
            assert job(st, "backup_incr")["last_error"]  # retrying, not given up
            assert srv.metrics()["pgdr_postgres_up"] == 0
            r = pgdr("--config", cfg, "status")
            assert r.returncode == 92 and "postgres_down (critical)" in r.stderr, r.stderr
            cluster.start()
            wait_alert(rcv, srv, "postgres_down", "resolved")
            wait_alert(rcv, srv, "backup_age", "resolved", timeout=30, count=2)

            # the repository becomes unreachable: alert, jobs wait, the daemon stays up
            tmp = root / "link.tmp"
            tmp.symlink_to(away)
            os.replace(tmp, link)
            wait_alert(rcv, srv, "repository_unreachable", "firing")
            srv.wait_for(
                "a retrying verify", lambda st: job(st, "verify").get("last_error"), timeout=20
            )
            assert srv.metrics()["pgdr_repository_up"] == 0
            tmp.symlink_to(real)
            os.replace(tmp, link)
            wait_alert(rcv, srv, "repository_unreachable", "resolved")
            st = srv.wait_for(
                "jobs back to normal",
                lambda st: (
                    not job(st, "verify").get("last_error")
                    and not job(st, "backup_incr").get("last_error")
                    and st["daemon"]["unsent_records"] == 0
                ),
                timeout=30,
            )
            records = json.loads(srv.get("/api/jobs"))["jobs"]
            r = pgdr("--config", cfg, "status")
            assert r.returncode == 0 and "backup_incr" in r.stdout, r.stderr
            assert srv.stop() == 0
        finally:
            os.environ.pop("PGDR_TEST_HOOK", None)
            srv.kill()
    posts = alert_posts(rcv)
    for name in ("postgres_down", "repository_unreachable"):
        assert [to for n, to in posts if n == name] == ["firing", "resolved"], (name, posts)
    # backup_age: none at the start, then old while the database was down
    assert [to for n, to in posts if n == "backup_age"] == ["firing", "resolved"] * 2, posts
    # every job record reached the repository (the source of truth; read from there)
    history = JobHistory(None)
    history.load(open_repo(archive_setup))
    stored = [asdict(r) for r in history.all()]
    assert {r["id"] for r in records} <= {r["id"] for r in stored}
    assert not list((root / "state" / "outbox").glob("*.json"))
    records = stored
    # every slot accounted for exactly once: run, or coalesced into a later run
    for kind, period in (("backup_incr", 3), ("verify", 2)):
        recs = sorted((r for r in records if r["kind"] == kind), key=lambda r: r["slot"])
        assert all(r["status"] == "success" for r in recs), recs
        slots = [ts(r["slot"]) for r in recs]
        assert len(set(slots)) == len(slots), kind
        assert sum(1 + r["missed"] for r in recs) == (max(slots) - min(slots)) / period + 1, kind
    # the slots that hit the outage were retried, or stood in for by the run after it
    hit = [r for r in records if r["kind"] == "backup_incr" and (r["attempts"] > 1 or r["missed"])]
    assert hit, "the backup that hit the outage ran once it was over"
    info = json.loads(pgdr("--config", cfg, "--json", "info").stdout)
    slots = [b["annotations"]["pgdr.slot"] for b in info["backups"]]
    assert len(slots) == len(set(slots)) == sum(1 for r in records if r["kind"] == "backup_incr")
