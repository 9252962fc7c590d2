"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) loads it behind
basic auth, every chart must be drawn from the JSON API, a screenshot is saved under
artifacts/; without credentials the dashboard answers 401 and the browser gets nothing.
:func:`check_charts` reads the drawn DOM back: captions and axes agree with the API, alert
text is whole and nothing is cut at a card's edge."""

from __future__ import annotations

import html
import itertools
import math
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pgdr.humanize import human
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


def svg_attrs(dom: str, chart: str) -> dict[str, str]:
    tag = re.search(rf'<svg[^>]*data-chart="{chart}"[^>]*>', dom)
    assert tag, chart
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))


def chart_dom(dom: str, chart: str) -> str:
    start = dom.index(f'data-chart="{chart}"')
    return dom[start : dom.index("</svg>", start)]


def check_ticks(labels: list[str], top_value: float, unit_of: dict[str, int]) -> None:
    """Axis labels: one unit, start at 0, equal steps, the last at or above the top value."""
    parsed = [label.split(" ") if " " in label else [label, ""] for label in labels]
    units = {u for _, u in parsed}
    assert len(units) == 1, labels
    values = [float(v) for v, _ in parsed]
    steps = {round(b - a, 6) for a, b in itertools.pairwise(values)}
    assert values[0] == 0 and len(steps) == 1 and 2 <= len(values) <= 7, labels
    step = steps.pop()
    assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5), labels
    unit = unit_of[units.pop()]
    top = values[-1] * unit
    assert top >= top_value > top - step * unit, (labels, top_value)  # the first tick above


BYTES = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def check_charts(
    dom: str, status: dict[str, Any], history: dict[str, Any], *, succeeded: int, manual: int
) -> None:
    """Each chart's caption and axis agree with /api/status and /api/history (and, through
    ``succeeded``/``manual``, with what the caller counted from `pgdr info --json`)."""
    # storage: the caption's two labelled series are the numbers the API serves
    total = status["repository"]["total_bytes"]
    assert history["storage"]["total_bytes"] == total
    st = svg_attrs(dom, "storage-trend")
    assert (
        int(st["data-total"]) == total and int(st["data-data"]) == history["storage"]["data_bytes"]
    )
    text = chart_dom(dom, "storage-trend")
    assert f">repository {human(total)}</text>" in text, text
    assert f">backup data {human(history['storage']['data_bytes'])}</text>" in text, text
    check_ticks(st["data-ticks"].split("|"), max(total, history["storage"]["data_bytes"]), BYTES)
    # success: scheduled and manual backups, integer ticks
    sc = svg_attrs(dom, "backup-success")
    assert int(sc["data-succeeded"]) == succeeded and int(sc["data-manual"]) == manual, sc
    runs = history["backup_success"]["runs"]
    text = chart_dom(dom, "backup-success")
    assert f">{succeeded} of {runs} backups succeeded (" in text and f"{manual} manual<" in text
    per_day = max(d["success"] + d["failed"] for d in history["backup_success"]["days"])
    check_ticks(sc["data-ticks"].split("|"), max(1, per_day), {"": 1})
    # alerts: every one listed, severity in words, the whole summary, nothing cut
    for a in status["alerts"]:
        item = re.search(rf'<li class="alert (\w+)" data-alert="{a["name"]}">(.*?)</li>', dom, re.S)
        assert item, a["name"]
        if a["state"] == "firing":
            assert f'<span class="sev">{a["severity"].upper()}</span>' in item.group(2)
            assert item.group(1) == ("bad" if a["severity"] == "critical" else "warn")
            summary = html.escape(a["summary"], quote=False)
            assert f'<span class="summary">{summary}</span>' in item.group(2), item.group(2)
    assert 'data-clipped="0"' in dom, re.search(r'data-clipped="\d+"', dom)


def load_dom(port: int, tmp: Path) -> str:
    url = f"http://ops:{TOKEN}@127.0.0.1:{port}/"
    dom = chromium(tmp, url, "--dump-dom").stdout
    assert 'data-ready="1"' in dom, dom[-3000:]
    return dom


def screenshot(port: int, tmp: Path, name: str, size: str = "1400,1300") -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    url = f"http://ops:{TOKEN}@127.0.0.1:{port}/"
    r = chromium(tmp, url, f"--screenshot={shot}", f"--window-size={size}", "--hide-scrollbars")
    assert shot.exists(), r.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return shot


def check_dashboard(port: int, tmp: Path, min_backups: int) -> str:
    """401 without credentials; with them every chart drawn. Returns the drawn DOM."""
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
    dom = load_dom(port, tmp / "auth")
    marks = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r'data-chart="([^"]+)"[^>]*data-marks="(\d+)"', dom)
    }
    assert set(marks) == set(CHARTS), marks
    assert all(n > 0 for n in marks.values()), marks
    assert marks["pitr-window"] >= 1 + min_backups  # the window and a tick per backup
    assert marks["drill-rto"] >= 2  # the RTO line and a point per drill
    screenshot(port, tmp / "shot", "dashboard.png")
    return dom
