"""Helpers for tests that run `pgdr serve` as a subprocess against a throw-away cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.fixtures.pgconfig import postgres_section
from tests.pg.archiving import archiving_cluster as archiving_cluster

TOKEN = "test-token-123"


def write_config(
    setup: dict[str, Any], cluster: Cluster, body: str, *, port: int | None = None
) -> tuple[Path, int]:
    """The archive_setup config plus [postgres], [daemon] and [web] for a test daemon."""
    cfg: Path = setup["cfg"]
    root: Path = setup["root"]
    base = cfg.read_text().split("\n[postgres]")[0]
    port = port or free_port()
    cfg.write_text(
        base
        + postgres_section(cluster.socket_dir, cluster.port, "postgres")
        + f'\n[web]\nlisten = "127.0.0.1:{port}"\ntoken = "env:PGDR_TEST_WEB_TOKEN"\n'
        + body.replace("STATE_DIR", str(root / "state"))
    )
    return cfg, port


class Serve:
    """`pgdr serve` in a subprocess; stderr goes to a log file shown on failure."""

    def __init__(self, cfg: Path, port: int, log: Path) -> None:
        self.cfg, self.port, self.log = cfg, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Serve:
        env = {**os.environ, "PGDR_TEST_WEB_TOKEN": TOKEN}
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pgdr", "--config", str(self.cfg), "serve"],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"pgdr serve exited {self.proc.returncode}: {self.log_text()}")
            try:
                if self.get("/healthz", auth=False).startswith("ok"):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"pgdr serve did not come up: {self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def get(self, path: str, *, auth: bool = True, timeout: float = 10) -> str:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if auth:
            req.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return str(r.read().decode())

    def status(self) -> dict[str, Any]:
        while True:
            try:
                return dict(json.loads(self.get("/api/status")))
            except urllib.error.HTTPError as e:
                if e.code != 503:  # 503: no facts collected yet
                    raise
                time.sleep(0.1)

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics as {'name{labels}': value}."""
        out = {}
        for line in self.get("/metrics").splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def wait_for(
        self, what: str, pred: Callable[[dict[str, Any]], Any], timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        st: dict[str, Any] = {}
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.2)
        raise AssertionError(
            f"timed out waiting for {what}; status: {json.dumps(st)[:3000]}\nlog: {self.log_text()}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"pgdr serve ignored signal {sig}: {self.log_text()}") from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def job(st: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(j for j in st["jobs"] if j["kind"] == kind)
