"""Helpers for drill tests: a source cluster with the sample database archiving into a
repository, a local HTTP receiver for notifications, and running drills."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.record import DrillRecord
from pgdr.drill.settings import DrillSettings
from pgdr.notify.base import Notifier
from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.restore.run import default_restore_command
from pgdr.storage import open_backend
from tests.pg.archiving import archive_command


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


class Receiver:
    """A real local HTTP server that records every POST (webhook, Slack, PagerDuty)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = body.decode(errors="replace")
                outer.posts.append((self.path, doc))
                status = 202 if self.path.startswith("/pagerduty") else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "success"}')

            def log_message(self, *_a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[Any]:
        return [doc for p, doc in self.posts if p == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


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
