"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) loads it behind
basic auth, every chart is drawn from the JSON API, a screenshot is saved under artifacts/;
without credentials the dashboard answers 401."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.cluster import Cluster
from tests.pg.serve import TOKEN, Serve, archiving_cluster, job, pgdr, write_config

pytestmark = [pytest.mark.pg, pytest.mark.e2e]
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHARTS = (
    "backup-age",
    "backup-success",
    "pitr-window",
    "storage-trend",
    "drill-rto",
    "exports",
    "alerts",
    "jobs",
)

CONFIG = """
[schedule]
backup_full = "off"
backup_incr = "@every 2s"
verify = "off"
drill = "@every 3s"
export = "off"

[daemon]
state_dir = "STATE_DIR"
eval_interval_s = 0.5

[drill]
amcheck = false
checksums = false
"""


def chromium(profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium not installed (scripts/install-system-deps)"
)
def test_dashboard_in_chromium(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], tmp_path: Path
) -> None:
    cluster = archiving_cluster(make_cluster, archive_setup["cfg"])
    cfg, port = write_config(archive_setup, cluster, CONFIG)
    assert pgdr("--config", cfg, "backup", "--type", "full").returncode == 0
    srv = Serve(cfg, port, archive_setup["root"] / "serve.log").start()
    try:
        srv.wait_for(
            "backups and a drill",
            lambda st: (
                job(st, "backup_incr").get("runs", 0) >= 2 and job(st, "drill").get("runs", 0) >= 1
            ),
        )
        base = f"http://127.0.0.1:{port}/"
        # without credentials: 401, and the browser gets no dashboard
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base, timeout=10)
        assert e.value.code == 401
        anon = chromium(tmp_path / "anon", base, "--dump-dom")
        assert "data-chart" not in anon.stdout  # the browser is refused: no dashboard
        assert "authentication required" in anon.stdout or "ERR_INVALID_AUTH" in anon.stderr
        # with basic auth: every chart drawn from the JSON API
        url = f"http://ops:{TOKEN}@127.0.0.1:{port}/"
        dom = chromium(tmp_path / "auth", url, "--dump-dom").stdout
        assert 'data-ready="1"' in dom, dom[-3000:]
        marks = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r'data-chart="([^"]+)"[^>]*data-marks="(\d+)"', dom)
        }
        assert set(marks) == set(CHARTS), marks
        assert all(n > 0 for n in marks.values()), marks
        assert marks["pitr-window"] >= 1 + 3  # the window and a tick per backup
        assert "protected" in dom or "alert(s) firing" in dom
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        shot.unlink(missing_ok=True)
        r = chromium(
            tmp_path / "shot",
            url,
            f"--screenshot={shot}",
            "--window-size=1400,1300",
            "--hide-scrollbars",
        )
        assert shot.exists(), r.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    finally:
        assert srv.stop() == 0
