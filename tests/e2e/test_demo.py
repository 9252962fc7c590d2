"""The README's main command runs the whole story and says it worked — including the
full-scale restore drill (~460k recalls), whose record must show every check passing in
under 60 s end to end."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from pgdr.drill.record import history
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr

pytestmark = [pytest.mark.e2e, pytest.mark.pg, pytest.mark.slow]


def test_demo_tells_the_whole_story() -> None:
    work = Path(tempfile.mkdtemp(prefix="pgdr-demo-test-", dir="/var/tmp"))
    try:
        r = pgdr("demo", "--workdir", work, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        out = r.stdout
        for needle in (
            "recalls 460,000",
            "47 indexes",
            "all critical checks pass",
            "The accident",
            "the deleted rows are back",
            "--missing-rows",
            "missing rows inserted by primary key",
            "the deleted rows are back in production; the later writes stayed",
            "no problems",
            "The weekly restore drill",
            "PASSED",
            "total (RTO)",
            "public.recalls",
            "every file matches the manifest",
            "duckdb> SELECT category",
            "Demo finished",
        ):
            assert needle in out, needle
        assert "Traceback" not in r.stderr
        # the figures come from the drill record in the repository
        repo = Repository.open(open_backend(f"file://{work}/repo"), KeyFile(work / "repo.key"))
        (rec,) = history(repo)
        assert rec.result == "passed", rec.message
        assert {c.status for c in rec.checks} == {"pass"}, [
            c for c in rec.checks if c.status != "pass"
        ]
        names = {c.name for c in rec.checks}
        for check in (
            "connectivity",
            "tables",
            "rows",
            "recency",
            "orphans",
            "indexes",
            "constraints",
            "amcheck",
            "checksums",
        ):
            assert check in names
        assert rec.total_seconds < 60, rec.steps
        tables = {t["name"]: t for t in rec.data["postgres"]["tables"]}
        assert tables["public.recalls"]["rows"] >= 400_000 and rec.data["postgres"]["indexes"] == 47
        assert (work / "drill.html").read_text().count('class="bar"') == 7
        assert not list(work.glob("pgdr-drill-*"))  # the sandbox is gone
    finally:
        shutil.rmtree(work, ignore_errors=True)
