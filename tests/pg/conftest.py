"""Fixtures of the pg tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pg.archiving import _archive_setup


@pytest.fixture
def archive_setup(pg_base_dir: Path) -> dict[str, Path | str]:
    """A key-file-encrypted file:// repository and configs that archive_command can use as
    the postgres user: ``cfg`` (reachable) and ``bad`` (an unreachable S3 endpoint)."""
    return _archive_setup(pg_base_dir)
