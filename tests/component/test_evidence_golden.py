"""Golden renderings of the runbook and the compliance report from fixed evidence: the text an
operator (or an auditor) reads is reviewed as a diff. PGDR_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.evidence import compliance_render, runbook_render
from pgdr.evidence.compliance import evaluate
from pgdr.evidence.runbook import build_runbook
from tests.fixtures.evidence import deployment, facts, figures

pytestmark = pytest.mark.component
GOLDEN = Path(__file__).parents[1] / "golden" / "evidence"
GENERATED = "2026-12-07T09:00:00+00:00"


def _runbook() -> object:
    return build_runbook(deployment(), figures(), GENERATED)


def _met() -> object:
    r = evaluate(facts(), GENERATED)
    r.sha256 = "0" * 64
    return r


def _not_met() -> object:
    return evaluate(
        facts(drills=[], audit_ok=False, audit_problem="audit/000000000003-ab: edited"), GENERATED
    )


CASES: dict[str, Callable[[], str]] = {
    "runbook.md": lambda: runbook_render.to_markdown(_runbook()),  # type: ignore[arg-type]
    "runbook.html": lambda: runbook_render.to_html(_runbook()),  # type: ignore[arg-type]
    "compliance-met.txt": lambda: compliance_render.to_text(_met()),  # type: ignore[arg-type]
    "compliance-met.html": lambda: compliance_render.to_html(_met()),  # type: ignore[arg-type]
    "compliance-not-met.txt": lambda: compliance_render.to_text(_not_met()),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendering_matches_golden(name: str) -> None:
    got = CASES[name]()
    golden = GOLDEN / name
    if os.environ.get("PGDR_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got)
    assert got == golden.read_text()


def test_golden_runbook_says_what_was_measured_and_what_was_not() -> None:
    md = (GOLDEN / "runbook.md").read_text()
    assert "RTO: newest 9.7 min (passed, 2026-12-06T02:09:00Z, manifests/drill/B)" in md
    assert "no drill measured" in md  # corruption, accidental deletion: no PITR drill yet
    assert "STALE" in md  # the region-failure game day is three months old
    assert "https://wiki.example.com/app/rollback" in md
    bad = (GOLDEN / "compliance-not-met.txt").read_text()
    assert "[not met] restore-drill-passed" in bad and "[not met] audit-log-intact" in bad
