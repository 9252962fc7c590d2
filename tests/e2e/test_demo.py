"""The README's main command runs the whole story and says it worked."""

from __future__ import annotations

import pytest

from tests.e2e.cli import pgdr

pytestmark = [pytest.mark.e2e, pytest.mark.pg, pytest.mark.slow]


def test_demo_tells_the_whole_story() -> None:
    r = pgdr("demo", timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = r.stdout
    for needle in (
        "recalls 460,000",
        "47 indexes",
        "all critical checks pass",
        "The accident",
        "the deleted rows are back",
        "no problems",
        "Demo finished",
    ):
        assert needle in out, needle
    assert "Traceback" not in r.stderr
