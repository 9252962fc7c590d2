"""Routes of the dashboard. Read-only (GET only). Everything but ``/healthz`` (and
``/metrics`` when ``metrics_public`` is set; it is not by default) needs credentials; without
them the answer is 401 with a basic-auth challenge, so a browser asks for them. Every request
first passes :class:`pgdr.web.guard.Guard` (Host allow-list, security headers)."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pgdr.web.auth import Credentials, authorized
from pgdr.web.guard import Guard, content_security_policy, default_hosts, security_headers

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Source(Protocol):
    def status(self) -> Any: ...

    def history(self) -> dict[str, Any] | None: ...

    def metrics(self) -> bytes: ...

    def job_records(self, kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]: ...


@dataclasses.dataclass(frozen=True)
class Page:
    html: str
    script: str
    style: str


def page() -> Page:
    """The dashboard page with its style and script inlined: one request, no asset URLs
    (a page opened as http://user:pass@host/ may not load sub-resources by URL). The CSP
    admits exactly these two inline blocks, by hash."""
    static = resources.files("pgdr.web") / "static"
    style = (static / "dashboard.css").read_text()
    script = (static / "dashboard.js").read_text()
    html = (static / "index.html").read_text()
    return Page(html.replace("/*STYLE*/", style).replace("/*SCRIPT*/", script), script, style)


class _Auth(BaseHTTPMiddleware):
    def __init__(self, app: Any, creds: Credentials, public: frozenset[str]) -> None:
        super().__init__(app)
        self.creds = creds
        self.public = public

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path in self.public or authorized(
            request.headers.get("authorization"), self.creds
        ):
            return await call_next(request)
        return PlainTextResponse(
            "authentication required\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="pgdr", charset="UTF-8"'},
        )


def _json(obj: Any) -> Response:
    if obj is None:
        return JSONResponse({"error": "no facts collected yet"}, status_code=503)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    return JSONResponse(obj, headers={"Cache-Control": "no-store"})


def create_app(
    source: Source,
    creds: Credentials,
    *,
    metrics_public: bool = False,
    hosts: frozenset[str] | None = None,
) -> Starlette:
    """``hosts``: the Host names served (default: :func:`pgdr.web.guard.default_hosts` of a
    localhost bind)."""
    the_page = page()
    html = the_page.html
    headers = security_headers(content_security_policy([the_page.script], [the_page.style]))

    async def index(request: Request) -> Response:
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def status(request: Request) -> Response:
        return _json(source.status())

    async def history(request: Request) -> Response:
        return _json(source.history())

    async def jobs(request: Request) -> Response:
        kind = request.query_params.get("kind") or None
        try:
            limit = int(request.query_params.get("limit", "500"))
        except ValueError:
            return JSONResponse({"error": "limit must be a number"}, status_code=400)
        return _json({"jobs": source.job_records(kind, limit)})

    async def metrics(request: Request) -> Response:
        return Response(source.metrics(), media_type=PROMETHEUS_TYPE)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    public = {"/healthz"} | ({"/metrics"} if metrics_public else set())
    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/status", status),
            Route("/api/history", history),
            Route("/api/jobs", jobs),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
        ],
        middleware=[
            Middleware(Guard, hosts=hosts or default_hosts("127.0.0.1"), headers=headers),
            Middleware(_Auth, creds=creds, public=frozenset(public)),
        ],
    )
