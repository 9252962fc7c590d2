"""archive_command against a storage endpoint that accepts connections and never answers:
`pgdr wal-push` fails within `[wal] push_timeout_s` with exit 21 naming the endpoint, so
PostgreSQL keeps the segment and retries (issue 12)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e


def test_wal_push_to_a_silent_endpoint_fails_within_its_deadline(
    tmp_path: Path, silent_endpoint: str
) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        "[repositories.main]\n"
        f'url = "s3://bucket/p?endpoint={silent_endpoint}&region=us-east-1&path_style=true"\n'
        "unencrypted = true\n"
        "[wal]\npush_timeout_s = 3\n"
    )
    seg = tmp_path / "pg_wal" / "000000010000000000000003"
    seg.parent.mkdir()
    seg.write_bytes(bytes(16 << 20))
    t = time.monotonic()
    r = pgdr("--config", cfg, "wal-push", seg, timeout=60)
    took = time.monotonic() - t
    assert r.returncode == 21, r.stderr
    assert silent_endpoint.removeprefix("http://") in r.stderr and "did not answer" in r.stderr
    assert "Traceback" not in r.stderr
    assert took < 15, f"wal-push took {took:.1f} s with a 3 s deadline"


def test_backup_against_a_silent_endpoint_fails_within_the_operation_deadline(
    tmp_path: Path, silent_endpoint: str
) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        "[repositories.main]\n"
        f'url = "s3://bucket/p?endpoint={silent_endpoint}&region=us-east-1&path_style=true"\n'
        "unencrypted = true\n"
        "[repositories.main.limits]\noperation_timeout_s = 2\n"
        '[postgres]\nhost = "/nonexistent"\n'
    )
    t = time.monotonic()
    r = pgdr("--config", cfg, "backup", timeout=60)
    assert r.returncode == 21, r.stderr
    assert silent_endpoint.removeprefix("http://") in r.stderr and "did not answer" in r.stderr
    assert time.monotonic() - t < 15
