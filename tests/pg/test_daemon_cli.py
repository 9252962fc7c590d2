"""`pgdr serve` refuses clearly: one daemon per state directory (exit 93), a dashboard
address in use (exit 94), a bad schedule (exit 2) — one line, no traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.osuser import free_port
from tests.fixtures.pgconfig import postgres_section
from tests.fixtures.pgdr_run import pgdr
from tests.pg.serve import Serve

pytestmark = pytest.mark.e2e


def config(setup: dict[str, Any], port: int, state: str, extra: str = "") -> Path:
    cfg: Path = setup["root"] / f"serve-{state}.toml"
    cfg.write_text(
        setup["cfg"].read_text()
        + postgres_section("127.0.0.1", _free())
        + f'\n[daemon]\nstate_dir = "{setup["root"] / state}"\neval_interval_s = 0.5\n'
        + f'\n[web]\nlisten = "127.0.0.1:{port}"\ntoken = "env:PGDR_TEST_WEB_TOKEN"\n'
        + extra
    )
    return cfg


def _free() -> int:
    return free_port()  # outside the ephemeral range: the daemon binds it later


def test_refusals(archive_setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGDR_TEST_WEB_TOKEN", "t")
    port = _free()
    first = Serve(config(archive_setup, port, "a"), port, archive_setup["root"] / "a.log").start()
    try:
        r = pgdr("--config", config(archive_setup, _free(), "a"), "serve")
        assert r.returncode == 93, r.stderr
        assert "another pgdr daemon (pid" in r.stderr and "Traceback" not in r.stderr
        r = pgdr("--config", config(archive_setup, port, "b"), "serve")
        assert r.returncode == 94, r.stderr
        assert f"dashboard cannot listen on 127.0.0.1:{port}" in r.stderr
        assert "Traceback" not in r.stderr
    finally:
        assert first.stop() == 0
    bad = config(archive_setup, _free(), "c", '\n[schedule]\ndrill = "*/5 * * * * *"\n')
    r = pgdr("--config", bad, "serve")
    assert r.returncode == 2 and "schedule.drill: schedule has 6 fields" in r.stderr, r.stderr
    assert not (archive_setup["root"] / "c").exists()  # nothing left behind
    r = pgdr("--config", config(archive_setup, _free(), "e"), "serve", "--listen", "nowhere")
    assert r.returncode == 2 and "expected host:port" in r.stderr, r.stderr
    monkeypatch.delenv("PGDR_TEST_WEB_TOKEN")
    r = pgdr("--config", config(archive_setup, _free(), "d"), "serve")
    assert r.returncode == 42 and "PGDR_TEST_WEB_TOKEN is not set" in r.stderr, r.stderr
    assert not (archive_setup["root"] / "d").exists()


def test_status_says_whether_a_daemon_runs(
    archive_setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("PGDR_TEST_WEB_TOKEN", "t")
    port = _free()
    cfg = config(archive_setup, port, "s")

    def daemon() -> dict[str, Any]:
        r = pgdr("--config", cfg, "--json", "status")  # the database is down here: exit 92
        assert r.returncode == 92, r.stderr
        report, _end = json.JSONDecoder().raw_decode(r.stdout)  # then the error document
        return dict(report["daemon"])

    assert daemon()["running"] is False
    srv = Serve(cfg, port, archive_setup["root"] / "s.log").start()
    try:
        got = daemon()
        assert got["running"] is True and got["pid"] == srv.proc.pid  # type: ignore[union-attr]
        assert got["since"].startswith("20") and got["detail"].startswith(
            f"running, pid {got['pid']}"
        )
        text = pgdr("--config", cfg, "status").stdout
        assert f"daemon      running, pid {got['pid']}, since {got['since']}" in text
        log = srv.log_text()
        assert re.search(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pgdr: INFO: pgdr daemon started", log, re.M
        )
        assert "WARNING: pgdr daemon started" not in log
    finally:
        assert srv.stop() == 0
    got = daemon()
    assert got["running"] is False and got["detail"].startswith("not running")
