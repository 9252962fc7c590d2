"""The dashboard app in process (no sockets): auth on every page but /healthz (and /metrics
when configured public), read-only, the page self-contained, the JSON API, the Host
allow-list and the security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from pgdr.daemon.alert_rules import conditions, step
from pgdr.daemon.series import dashboard_series
from pgdr.daemon.settings import AlertSettings
from pgdr.daemon.status import build_status
from pgdr.web.app import create_app
from pgdr.web.auth import Credentials
from pgdr.web.guard import default_hosts
from tests.fixtures.daemon_facts import NOW, facts

pytestmark = pytest.mark.component
AUTH = {"Authorization": "Bearer tok"}


class Source:
    """What the daemon offers the web app, from a fixed snapshot."""

    def __init__(self) -> None:
        self.f = facts()
        self.states, _ = step({}, conditions(self.f, AlertSettings()), NOW, 0)

    def status(self) -> Any:
        return build_status(
            self.f, self.states, {"backup_incr": "0 3 * * 1-6", "export": "0 4 1 * *"}
        )

    def history(self) -> dict[str, Any]:
        return {**dashboard_series(self.f), "limits": {"backup_max_age_s": 93600}}

    def metrics(self) -> bytes:
        return b"pgdr_info 1\n"

    def job_records(self, kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        return [{"kind": "verify", "status": "success"}][:limit]


def make_client(base_url: str = "http://localhost", **kw: Any) -> TestClient:
    return TestClient(create_app(Source(), Credentials(token="tok"), **kw), base_url=base_url)


@pytest.fixture
def client() -> TestClient:
    return make_client()


@pytest.mark.parametrize("path", ["/", "/api/status", "/api/history", "/api/jobs"])
def test_without_credentials_401(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_with_credentials(client: TestClient) -> None:
    basic = "Basic " + base64.b64encode(b"ops:tok").decode()
    assert client.get("/", headers={"Authorization": basic}).status_code == 200
    st = client.get("/api/status", headers=AUTH).json()
    assert st["backups"]["count"] == 8 and st["firing"] == []
    assert {j["kind"] for j in st["jobs"]} == {"backup_incr", "export"}
    export = next(j for j in st["jobs"] if j["kind"] == "export")
    assert "unavailable" not in export and export["next"]  # scheduled like any kind
    assert st["exports"]["state"] == "ok" and st["exports"]["latest"]["rows"] == 475000
    h = client.get("/api/history", headers=AUTH).json()
    assert len(h["backup_success"]["days"]) == 30 and h["window"]["start"]
    assert client.get("/api/jobs?limit=0", headers=AUTH).json() == {"jobs": []}
    assert client.get("/api/jobs?limit=x", headers=AUTH).status_code == 400


def test_public_paths(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok\n"
    assert client.get("/metrics").status_code == 401  # metrics need the token by default
    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200 and r.text.startswith("pgdr_info")
    public = make_client(metrics_public=True)
    r = public.get("/metrics")
    assert r.status_code == 200 and r.text.startswith("pgdr_info")
    assert public.get("/api/status").status_code == 401


@pytest.mark.parametrize("path", ["/", "/healthz", "/metrics", "/api/status"])
def test_unknown_host_names_are_refused(path: str) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example,
    with or without credentials."""
    hosts = default_hosts("127.0.0.1", ["pgdr.example.com"])
    evil = make_client("http://evil.example:8484", hosts=hosts, metrics_public=True)
    r = evil.get(path, headers=AUTH)
    assert r.status_code == 421 and "allowed_hosts" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert evil.get(path, headers={**AUTH, "Host": ""}).status_code == 421
    for ok in ("localhost:8484", "127.0.0.1:8484", "[::1]:8484", "10.0.0.7", "PGDR.example.com."):
        assert evil.get("/healthz", headers={"Host": ok}).status_code == 200, ok
    assert (
        make_client("http://evil.example", hosts=default_hosts("::", ["*"]))
        .get("/healthz")
        .status_code
        == 200
    )


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path, headers, status in [
        ("/", AUTH, 200),
        ("/", {}, 401),
        ("/api/status", AUTH, 200),
        ("/metrics", AUTH, 200),
        ("/healthz", {}, 200),
        ("/nope", AUTH, 404),
    ]:
        r = client.get(path, headers=headers)
        assert r.status_code == status, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_csp_admits_exactly_the_inlined_script_and_style(client: TestClient) -> None:
    r = client.get("/", headers=AUTH)
    csp = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))

    def digest(block: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"

    (script,) = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", r.text, re.S)
    assert csp["script-src"] == digest(script) and csp["style-src"] == digest(style)


def test_read_only(client: TestClient) -> None:
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/status", headers=AUTH).status_code == 405


def test_page_is_self_contained(client: TestClient) -> None:
    html = client.get("/", headers=AUTH).text
    assert "function drawWindow" in html and "--ok:" in html  # script and style inlined
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from elsewhere
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
