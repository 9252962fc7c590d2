"""Helpers for drill tests: a source cluster with the sample database archiving into a
repository, and running drills."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.record import DrillRecord
from pgdr.drill.settings import DrillSettings
from pgdr.notify.base import Notifier
from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.restore.commands import default_restore_command
from pgdr.storage import open_backend
from tests.fixtures.receiver import Receiver, receiver
from tests.pg.archiving import archive_command

__all__ = ["Receiver", "drill", "open_repo", "receiver"]


def open_repo(setup: dict[str, Any]) -> Repository:
    return Repository.open(open_backend(str(setup["url"])), KeyFile(setup["key"]))


def archiving_settings(setup: dict[str, Any]) -> dict[str, object]:
    return {
        "archive_mode": "on",
        "archive_command": archive_command(setup["cfg"]),
        "archive_timeout": 0,
    }


def switch_and_wait(c: Cluster, timeout: float = 60) -> None:
    from tests.pg.archiving import wait_archived

    c.sql("SELECT txid_current()")  # a commit after the last target
    (name,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(c, str(name), timeout)


def drill(
    setup: dict[str, Any],
    settings: DrillSettings,
    *,
    notifiers: list[Notifier] | None = None,
    production: Callable[[str], str] | None = None,
    **request: Any,
) -> DrillRecord:
    env = DrillEnv(
        restore_command=default_restore_command(Path(setup["cfg"]), None),
        production=production,
        notifiers=notifiers or [],
    )
    return run_drill(open_repo(setup), settings, DrillRequest(**request), env)
