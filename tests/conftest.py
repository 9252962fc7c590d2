"""Shared pytest fixtures live in tests/fixtures/; they are registered here."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.moto_server",
    "tests.fixtures.pg",
    "tests.fixtures.silent_endpoint",
]


@pytest.fixture(scope="session", autouse=True)
def pgdr_state_dir() -> Iterator[str]:
    """pgdr's local state (audit checkpoints, WAL ingest summaries) goes to a throw-away
    directory, writable by the postgres user that runs archive_command, never to $HOME."""
    path = tempfile.mkdtemp(prefix="pgdr-state-")
    # Shared by root (the tests) and postgres (archive_command): each user creates its own
    # files, in subdirectories both may write (in production each user has its own state).
    for sub in ("", "audit", "wal-ingest", "replica-down", "identity", "config-cache"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
        os.chmod(os.path.join(path, sub), 0o1777)
    saved = os.environ.get("PGDR_STATE_DIR")
    os.environ["PGDR_STATE_DIR"] = path
    yield path
    if saved is None:
        os.environ.pop("PGDR_STATE_DIR", None)
    else:
        os.environ["PGDR_STATE_DIR"] = saved
    shutil.rmtree(path, ignore_errors=True)
