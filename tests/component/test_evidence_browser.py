"""The runbook and the compliance report drawn by headless Chromium at 1280x900: every
scenario's section (and the controls table) fits one screen, measured in the browser; a
screenshot per scenario and per report state goes to artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgdr.evidence import compliance_render, runbook_render
from pgdr.evidence.compliance import evaluate
from pgdr.evidence.runbook import build_runbook
from tests.fixtures.evidence import deployment, facts, figures
from tests.pg.browser import ARTIFACTS, CHROMIUM, chromium

pytestmark = pytest.mark.component
WIDTH, HEIGHT = 1280, 900
#: Test copies only: the pages pgdr writes carry no script. This one measures each section.
MEASURE = (
    "<script>for (const s of document.querySelectorAll('section'))"
    " s.dataset.h = Math.ceil(s.getBoundingClientRect().height);"
    " document.body.dataset.ready = '1';</script></body>"
)


def heights(page: Path, tmp: Path) -> dict[str, int]:
    measured = tmp / f"measured-{page.name}"
    measured.write_text(page.read_text().replace("</body>", MEASURE))
    dom = chromium(
        tmp / "profile", measured.as_uri(), "--dump-dom", f"--window-size={WIDTH},{HEIGHT}"
    ).stdout
    assert 'data-ready="1"' in dom, dom[-2000:]
    return {
        m.group(1) or f"section{i}": int(m.group(2))
        for i, m in enumerate(re.finditer(r'<section(?: id="([\w-]+)")?[^>]*data-h="(\d+)"', dom))
    }


def shot(page: Path, tmp: Path, name: str, only: str = "") -> None:
    """A screenshot of the page's first screen; with ``only``, of that scenario's section
    as the page draws it (a test copy hides the other sections)."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / name
    out.unlink(missing_ok=True)
    if only:
        copy = tmp / f"only-{only}.html"
        hide = f"<style>section:not(#{only}){{display:none}}</style></head>"
        copy.write_text(page.read_text().replace("</head>", hide, 1))
        page = copy
    url = page.as_uri()
    r = chromium(
        tmp / "profile",
        url,
        f"--screenshot={out}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
    )
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", r.stderr[-2000:]


@pytest.fixture
def browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")


@pytest.mark.usefixtures("browser")
def test_each_runbook_scenario_fits_one_screen(tmp_path: Path) -> None:
    rb = build_runbook(deployment(), figures(), "2026-12-07T09:00:00+00:00")
    page = tmp_path / "runbook.html"
    page.write_text(runbook_render.to_html(rb))
    got = heights(page, tmp_path)
    assert set(got) == {s.id for s in rb.scenarios}
    assert all(0 < h <= HEIGHT for h in got.values()), got
    shot(page, tmp_path, "runbook-region-failure.png", "region-failure")  # measured, stale


@pytest.mark.usefixtures("browser")
def test_compliance_report_fits_one_screen(tmp_path: Path) -> None:
    for name, report in (
        ("met", evaluate(facts(), "2026-12-07T09:00:00+00:00")),
        (
            "not-met",
            evaluate(
                facts(drills=[], audit_ok=False, audit_problem="audit/0003: edited"),
                "2026-12-07T09:00:00+00:00",
            ),
        ),
    ):
        page = tmp_path / f"compliance-{name}.html"
        page.write_text(compliance_render.to_html(report))
        if name == "not-met":  # the longer texts: measured
            got = heights(page, tmp_path)
            assert got and all(0 < h <= HEIGHT for h in got.values()), got
        shot(page, tmp_path, f"compliance-{name}.png")
