"""Operational evidence on a real cluster: the healthy game days restore (region failure from
the replica alone, complete loss from repository + key) and feed the runbook's figures and
the compliance report (met, with record links); then the generated runbook's code blocks run
verbatim, scenario by scenario, against the throw-away cluster and repositories, and each
does what the runbook says; its HTML is written owner-only (drawn by Chromium in
tests/component/test_evidence_browser.py).

As in tests/e2e/test_readme_walk.py, the operator's one input is provided: TARGET_TIME, the
moment before the damage, which the runbook asks for by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from pgdr.evidence.runbook_render import code_blocks
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, resolve_runas
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import BASE_ENV, pgdr, state_env
from tests.pg.archiving import archiving_cluster, make_interpreter_reachable, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def _switch(c: Cluster) -> None:
    c.sql("SELECT txid_current()")
    (seg,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(c, str(seg), timeout=120)


def _count(data_dir: str, port: int) -> int:
    with psycopg.connect(host=f"{data_dir}.run", port=port, user="postgres") as conn:
        row = conn.execute("SELECT count(*) FROM recalls").fetchone()
    assert row is not None
    return int(row[0])


def _stop(c: Cluster, data_dir: str) -> None:
    if (Path(data_dir) / "postmaster.pid").exists():
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                f"{c.bindir}/pg_ctl",
                "-D",
                data_dir,
                "stop",
                "-m",
                "fast",
            ],
            capture_output=True,
            timeout=120,
        )


def ok(*args: str | Path, timeout: float = 600) -> str:
    r = pgdr(*args, timeout=timeout)
    assert r.returncode == 0, (
        f"pgdr {args}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    )
    return r.stdout


def test_game_days_feed_the_runbook_whose_commands_run_verbatim(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the runbook's commands run as root (runuser -u postgres)")
    make_interpreter_reachable()
    root = pg_base_dir / f"evidence-{time.monotonic_ns()}"
    root.mkdir()
    root.chmod(0o755)
    key = root / "repo.key"
    generate_key_file(key)
    Repository.init(open_backend(f"file://{root}/repo"), KeyFile(key))  # dr: by replicate
    cfg = root / "pgdr.toml"
    restore_root = root / "restore"
    restore_port, side_port = free_port(), free_port()
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{root}/repo"\nkey_file = "{key}"\nreplicate_to = ["dr"]\n'
        f'[repositories.dr]\nurl = "file://{root}/dr"\nkey_file = "{key}"\n'
    )
    (root / "dr").mkdir()
    chown_tree(root, resolve_runas())  # what pgdr writes later inherits the owner
    ok("--config", cfg, "repo", "replicate")  # the replica exists before WAL follows into it
    c = archiving_cluster(make_cluster, cfg)
    cfg.write_text(
        cfg.read_text()
        + f'[postgres]\ndata_dir = "{c.data_dir}"\nhost = "{c.socket_dir}"\nport = {c.port}\n'
        f'bin_dir = "{c.bindir}"\n'
        f'[runbook]\nrestore_root = "{restore_root}"\nrestore_port = {restore_port}\n'
        f'side_port = {side_port}\ntables = ["recalls"]\n'
        # "fresh" (game day, second-copy control) = within the replica-lag alert threshold;
        # records written after `repo replicate` (game days, audit) age on a loaded machine
        "[alerts]\nreplica_lag_max_s = 900\n"
    )
    c.sql("CREATE TABLE recalls (id int PRIMARY KEY, category text)")
    c.sql("INSERT INTO recalls SELECT g, 'toys' FROM generate_series(1, 1000) g")
    ok("--config", cfg, "backup", "--type", "full")
    ok("--config", cfg, "repo", "replicate")
    _switch(c)

    # 1. Healthy game days pass, restoring from the replica alone and from repository + key.
    for scenario in ("region-failure", "complete-loss"):
        rec = json.loads(ok("--config", cfg, "gameday", scenario, "--json"))
        assert rec["result"] == "passed" and rec["drill"] and rec["rto_seconds"] > 0, rec
        assert all(s["ok"] for s in rec["steps"]), rec

    # 2. Compliance: the drill control is met, naming the game day's drill record.
    doc = json.loads(ok("--config", cfg, "report", "compliance", "--json"))
    controls = {c["id"]: c for c in doc["report"]["controls"]}
    drill = controls["restore-drill-passed"]
    assert drill["state"] == "met" and drill["records"] == [f"manifests/drill/{rec['drill']}"]
    assert controls["audit-log-intact"]["state"] == "met"
    assert controls["backups-within-rpo"]["state"] == "met"
    assert controls["second-copy"]["state"] == "met", controls["second-copy"]

    # 3. The runbook: measured figures where game days ran, "no drill measured" elsewhere.
    html = root / "runbook.html"
    md = ok("--config", cfg, "runbook", "--html", html)
    section = md.split("## 3. Complete failure", 1)[1].split("## 4.", 1)[0]
    assert "RTO: newest" in section and rec["id"] in section, section
    assert "no drill measured" in md.split("## 1.", 1)[1].split("## 2.", 1)[0]
    assert html.stat().st_mode & 0o077 == 0

    # 4. The walk: each scenario's commands verbatim, then its checks, then its clean-up.
    target = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    c.sql("DELETE FROM recalls WHERE id > 500")  # the accident (and the corruption)
    _switch(c)
    env = {
        **{k: v for k, v in {**BASE_ENV, **state_env()}.items() if v is not None},
        "PATH": f"{Path(sys.executable).parent}:{c.bindir}:{BASE_ENV['PATH']}",
        "TARGET_TIME": target.isoformat(),
    }

    def run(scenario: str, part: str) -> str:
        lines = code_blocks(md, scenario, part)
        assert lines, (scenario, part)
        r = subprocess.run(
            ["bash", "-ec", "\n".join(lines)], env=env, capture_output=True, text=True, timeout=600
        )
        assert r.returncode == 0, (
            f"{scenario} {part}: exit {r.returncode}\n{lines}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        )
        assert "Traceback" not in r.stderr
        return r.stdout

    dirs = {
        s: f"{restore_root}/{s}"
        for s in ("accidental-deletion", "complete-loss", "region-failure", "corruption")
    }
    try:
        for scenario, rows in (
            ("complete-loss", 500),
            ("region-failure", 500),
            ("corruption", 1000),
        ):
            run(scenario, "commands")
            assert run(scenario, "check").split() == [str(rows), "f"], scenario
            assert _count(dirs[scenario], restore_port) == rows
            _stop(c, dirs[scenario])

        out = run("malicious-deletion", "commands")
        assert "chain intact" in out or "entries" in out, out[-2000:]

        # last, as it changes production: the deleted rows go back in place (restore table)
        run("accidental-deletion", "commands")
        assert run("accidental-deletion", "check").split() == ["1000"]  # production, whole
        assert c.sql("SELECT count(*), max(id) FROM recalls") == [(1000, 1000)]
        assert code_blocks(md, "accidental-deletion", "cleanup") == []  # nothing left behind
    finally:
        for d in dirs.values():
            _stop(c, d)
