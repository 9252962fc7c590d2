"""One rule for where pgdr keeps local state: the audit checkpoint (and the WAL-ingest
summaries and replica markers beside it) lives in pgdr.paths.default_state_dir like the
daemon's and the drills' state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.audit.state import _checkpoint_path
from pgdr.paths import default_state_dir

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("pgdr_state_dir", [None, "custom"])
@pytest.mark.parametrize("xdg", [None, "xdg"])
def test_audit_and_replica_state_follow_the_state_dir_rule(
    pgdr_state_dir: str | None, xdg: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("PGDR_STATE_DIR", pgdr_state_dir), ("XDG_STATE_HOME", xdg)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(tmp_path / value))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = default_state_dir()
    assert _checkpoint_path("ab" * 16, "s3://b/p").parent == root / "audit"
