"""The job kinds take their dependencies as typed fields wired by the CLI; a kind whose
dependency was not wired refuses with a one-line error before touching the repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgdr.daemon.jobs import REGISTRY, JobContext, JobDeps
from pgdr.errors import DaemonError
from pgdr.repo.repository import Repository

pytestmark = pytest.mark.unit


def _no_repo() -> Repository:
    raise AssertionError("the repository must not be opened")


@pytest.mark.parametrize(
    ("kind", "message"), [("expire", "no retention policy"), ("drill", "no drill settings")]
)
def test_a_kind_without_its_dependency_refuses(kind: str, message: str) -> None:
    ctx = JobContext(kind, datetime.now(UTC), _no_repo, "conninfo", deps=JobDeps())
    with pytest.raises(DaemonError, match=message):
        REGISTRY[kind].run(ctx)
