"""What every response of the dashboard is protected by, apart from credentials.

* A Host allow-list against DNS rebinding: a page on ``evil.example`` whose name is made to
  resolve to 127.0.0.1 reaches a localhost dashboard with ``Host: evil.example``, so only
  names the operator gave (``[web] allowed_hosts``), ``localhost``, the bind host and this
  machine's name are served, plus any IP literal (a browser sends an IP as Host only when the
  user typed it). Anything else gets 421 (Misdirected Request).
* Security headers: a Content-Security-Policy that admits exactly the page's own inlined
  script and style (by hash), no framing, no MIME sniffing, no referrer.

Pure helpers plus one middleware.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

WILDCARD_BINDS = {"", "0.0.0.0", "::"}


def host_name(header: str) -> str:
    """The host part of a Host header, lower case, without port or trailing dot."""
    h = header.strip().lower()
    if h.startswith("["):  # [v6]:port
        return h[1 : h.find("]")] if "]" in h else h
    name, sep, port = h.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        h = name
    return h.rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, names: frozenset[str]) -> bool:
    if not header:
        return False
    if "*" in names:
        return True
    host = host_name(header)
    return _is_ip(host) or host in names


def default_hosts(listen_host: str, configured: Iterable[str] = ()) -> frozenset[str]:
    """localhost, the bind host (when it is a name), this machine's name, and the names the
    operator configured."""
    names = {"localhost", socket.gethostname().lower()}
    if listen_host not in WILDCARD_BINDS:
        names.add(listen_host.strip("[]").lower())
    names.update(host_name(n) if n != "*" else n for n in configured)
    return frozenset(names)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(scripts: Iterable[str], styles: Iterable[str]) -> str:
    """Only this origin, and of inline code only the given scripts and styles."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src " + " ".join(_sha256(s) for s in scripts),
            "style-src " + " ".join(_sha256(s) for s in styles),
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


class Guard(BaseHTTPMiddleware):
    """Outermost: refuses unknown Host names, and adds the security headers to every
    response (401s and 421s included)."""

    def __init__(self, app: Any, hosts: frozenset[str], headers: dict[str, str]) -> None:
        super().__init__(app)
        self.hosts = hosts
        self.headers = headers

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if host_allowed(request.headers.get("host"), self.hosts):
            response = await call_next(request)
        else:
            response = PlainTextResponse(
                "misdirected request: this host name is not served here "
                "(see [web] allowed_hosts)\n",
                status_code=421,
            )
        response.headers.update(self.headers)
        return response
