"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) loads it behind
basic auth, every chart must be drawn from the JSON API, a screenshot is saved under
artifacts/; without credentials the dashboard answers 401 and the browser gets nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.pg.serve import TOKEN

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
            f"--user-data-dir={profile}",  # a fresh profile for every run
            "--virtual-time-budget=10000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def check_dashboard(port: int, tmp: Path, min_backups: int) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    base = f"http://127.0.0.1:{port}/"
    # without credentials: 401, and the browser gets no dashboard
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base, timeout=10)
    assert e.value.code == 401
    anon = chromium(tmp / "anon", base, "--dump-dom")
    assert "data-chart" not in anon.stdout
    assert "authentication required" in anon.stdout or "ERR_INVALID_AUTH" in anon.stderr
    # with basic auth: every chart drawn from the JSON API
    url = f"http://ops:{TOKEN}@127.0.0.1:{port}/"
    dom = chromium(tmp / "auth", url, "--dump-dom").stdout
    assert 'data-ready="1"' in dom, dom[-3000:]
    marks = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r'data-chart="([^"]+)"[^>]*data-marks="(\d+)"', dom)
    }
    assert set(marks) == set(CHARTS), marks
    assert all(n > 0 for n in marks.values()), marks
    assert marks["pitr-window"] >= 1 + min_backups  # the window and a tick per backup
    assert marks["drill-rto"] >= 2  # the RTO line and a point per drill
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    r = chromium(
        tmp / "shot", url, f"--screenshot={shot}", "--window-size=1400,1300", "--hide-scrollbars"
    )
    assert shot.exists(), r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
