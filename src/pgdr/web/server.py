"""uvicorn in a thread, on a socket bound before anything else starts, so that an address in
use is one clear error (exit 94) instead of a dashboard that silently never came up."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from pgdr.errors import WebError


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class WebServer:
    def __init__(self, app: Any, listen: str) -> None:
        self.app = app
        self.listen = listen
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        host, port = parse_listen(self.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(64)
        except OSError as e:
            sock.close()
            raise WebError(
                f"dashboard cannot listen on {self.listen}: {e.strerror}",
                hint="set [web] listen to a free host:port, or [web] enabled = false",
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_notify=5
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WebError(f"dashboard on {self.listen} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
