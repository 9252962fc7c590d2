"""The README's "Using it" block, run line by line as a DBA would, against a throw-away cluster.

Only paths (/etc/pgdr, /var/lib/pgdr, /srv/restore, /root, the server's bin directory), the
restored server's port and the time placeholder are replaced; each line runs in bash from the
checkout (so `cp examples/quickstart.toml …` copies the shipped example) with `pgdr` on PATH.
Between lines the test does only what the DBA's world does: the [postgres] edit the README asks
for after the copy (this cluster's data directory, socket and port; a free dashboard port),
and writes on production before the point-in-time restore. `… serve &` starts the daemon,
stopped with SIGTERM after `status` has seen it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.e2e.cli import BASE_ENV, state_env
from tests.fixtures.moto_server import bucket_url, make_bucket
from tests.fixtures.receiver import receiver
from tests.pg.archiving import make_interpreter_reachable, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]
CHECKOUT = Path(__file__).resolve().parents[2]
TIME_PLACEHOLDER = "2026-11-24T03:00:00+00:00"


def readme_walk(marker: str = "readme-walk") -> list[str]:
    """The commands between the marker comments: comment-only and blank lines dropped."""
    text = (CHECKOUT / "README.md").read_text()
    block = text.split(f"<!-- {marker}: begin -->", 1)[1].split(f"<!-- {marker}: end -->")[0]
    body = block.split("```sh\n", 1)[1].rsplit("```", 1)[0]
    return [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def offsite_toml() -> str:
    """The README's `[repositories.offsite]` snippet (the toml block before the S3 walk)."""
    text = (CHECKOUT / "README.md").read_text().split("<!-- readme-walk-s3: begin -->")[0]
    return text.rsplit("```toml\n", 1)[1].split("```", 1)[0]


def test_the_readme_walk_parses() -> None:
    lines = readme_walk()
    firsts = [next((w for w in ln.split()[3:] if not w.startswith("-")), "") for ln in lines]
    order = [w for w in firsts if w in ("repo", "setup", "check", "backup", "restore", "drill")]
    assert order[:6] == ["repo", "setup", "check", "backup", "restore", "drill"], lines
    assert any(TIME_PLACEHOLDER in ln for ln in lines) and any(ln.endswith("&") for ln in lines)


def _edit_postgres(cfg: Path, c: Cluster, web_port: int, paths: dict[str, str]) -> None:
    text = cfg.read_text()
    for old, new in paths.items():  # the same paths as in the commands
        text = text.replace(old, new)
    text = re.sub(r'(?m)^data_dir = ".*"', f'data_dir = "{c.data_dir}"', text)
    text = re.sub(r'(?m)^host = ".*"', f'host = "{c.socket_dir}"', text)
    text = re.sub(r"(?m)^port = \d+", f"port = {c.port}", text)
    text = text.replace('listen = "127.0.0.1:8484"', f'listen = "127.0.0.1:{web_port}"')
    cfg.write_text(text)


def test_readme_using_it_runs_verbatim(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path, moto_endpoint: str
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the README's walk runs as root (install -o postgres, runuser)")
    make_interpreter_reachable()
    # A server as a DBA has it: archiving enabled at install time, no archive_command yet.
    c = make_cluster(settings={"archive_mode": "on", "archive_command": ""}, start=False)
    c.env = {"PGDR_KDF_N": BASE_ENV["PGDR_KDF_N"]}  # archive_command unlocks the cheap test KDF
    c.start()
    c.sql("CREATE TABLE recalls (id serial PRIMARY KEY, category text)")
    c.sql("INSERT INTO recalls (category) SELECT 'toys' FROM generate_series(1, 1000)")
    root = pg_base_dir / "readme"
    for d in (root, root / "etc", root / "var" / "lib"):
        d.mkdir(parents=True)
        d.chmod(0o755)
    restore_port, failover_port, web_port = free_port(), free_port(), free_port()
    paths = {
        "/etc/pgdr": f"{root}/etc/pgdr",
        "/var/lib/pgdr": f"{root}/var/lib/pgdr",
        "/srv/restore": f"{root}/restore",
        "/srv/pg": f"{root}/pg",
        "/root/": f"{root}/",
        "/usr/lib/postgresql/15/bin": str(c.bindir),
        "--port 5433": f"--port {restore_port}",
        "--port 5432": f"--port {failover_port}",
    }
    cfg = root / "etc" / "pgdr" / "pgdr.toml"
    bindir = str(Path(sys.executable).parent)
    serve: subprocess.Popen[bytes] | None = None
    serve_log = root / "serve.log"
    ran: list[str] = []

    def run(line: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        cmd = line
        for old, new in paths.items():
            cmd = cmd.replace(old, new)
        if TIME_PLACEHOLDER in cmd:  # production keeps writing past the target
            time.sleep(1.1)
            target = datetime.now(UTC).replace(microsecond=0)
            time.sleep(1.1)
            c.sql("INSERT INTO recalls (category) VALUES ('cribs')")
            (seg,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
            wait_archived(c, seg, timeout=60)
            cmd = cmd.replace(TIME_PLACEHOLDER, target.isoformat())
        t0 = time.monotonic()
        r = subprocess.run(
            ["bash", "-c", cmd], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=600
        )
        assert r.returncode == 0, (
            f"README line failed (exit {r.returncode}): {line}\n"
            f"stdout: {r.stdout[-3000:]}\nstderr: {r.stderr[-3000:]}"
        )
        assert "Traceback" not in r.stderr, r.stderr
        print(f"{time.monotonic() - t0:6.1f} s  {line[:90]}")  # shown with -s
        ran.append(line)
        return r

    def count(socket_dir: Path, port: int) -> int:
        with psycopg.connect(host=str(socket_dir), port=port, user="postgres") as conn:
            row = conn.execute("SELECT count(*) FROM recalls").fetchone()
        assert row is not None
        return int(row[0])

    with receiver() as hook:
        env = {
            **{k: v for k, v in {**BASE_ENV, **state_env()}.items() if v is not None},
            "PATH": f"{bindir}:{BASE_ENV['PATH']}",
            "PGDR_WEBHOOK_URL": f"{hook.url}/pgdr",
        }
        try:
            for line in readme_walk():
                if line.endswith("&"):
                    cmd = line.rstrip("& ")
                    for old, new in paths.items():
                        cmd = cmd.replace(old, new)
                    with open(serve_log, "ab") as err:
                        serve = subprocess.Popen(
                            ["bash", "-c", "exec " + cmd],
                            cwd=CHECKOUT,
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=err,
                        )
                    _wait_for(serve_log, "pgdr daemon started", serve)
                    ran.append(line)
                    continue
                r = run(line, env)
                if line.startswith("cp ") and "quickstart.toml" in line:
                    _edit_postgres(cfg, c, web_port, paths)  # "then edit [postgres]"
                if TIME_PLACEHOLDER in line:  # the point in time, not after it
                    assert count(root / "restore.run", restore_port) == 1000
                if " status" in line:
                    assert re.search(r"daemon\s+running, pid \d+, since ", r.stdout), r.stdout
            # The copy on S3 (moto): the README's [repositories.offsite] with its bucket URL
            # replaced, then the second block; the failover restore reads the copy alone.
            offsite = offsite_toml().replace("/etc/pgdr", paths["/etc/pgdr"])
            url = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "prod")
            offsite = re.sub(r'(?m)^url = ".*"', f'url = "{url}"', offsite)
            cfg.write_text(cfg.read_text() + "\n" + offsite)
            for line in readme_walk("readme-walk-s3"):
                run(line, env)
                if "--repo offsite restore" in line:
                    assert count(root / "pg.run", failover_port) == 1001
        finally:
            if serve is not None and serve.poll() is None:
                serve.send_signal(signal.SIGTERM)
                serve.wait(120)
            _stop_restored(c, root / "restore")
            _stop_restored(c, root / "pg")
        # The daemon stopped in order; the drill's notification reached the local webhook.
        assert serve is not None and serve.returncode == 0, serve_log.read_text()[-3000:]
        assert any(doc.get("kind") == "drill" for doc in hook.bodies("/pgdr")), hook.posts
    assert ran == readme_walk() + readme_walk("readme-walk-s3")
    assert count(c.socket_dir, c.port) == 1001


def _wait_for(log: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if needle in text:
            return
        if proc.poll() is not None:
            raise AssertionError(f"pgdr serve exited {proc.returncode}: {text[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"pgdr serve did not start: {log.read_text(errors='replace')[-3000:]}")


def _stop_restored(c: Cluster, data_dir: Path) -> None:
    """A failed walk may leave the restored server running: stop it as the README says."""
    if (data_dir / "postmaster.pid").exists():
        subprocess.run(
            ["runuser", "-u", "postgres", "--", f"{c.bindir}/pg_ctl", "-D", str(data_dir), "stop"],
            capture_output=True,
            timeout=60,
        )
