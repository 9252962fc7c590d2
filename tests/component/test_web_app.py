"""The dashboard app in process (no sockets): auth on every page but /healthz and (by
default) /metrics, read-only, the page self-contained, the JSON API."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from pgdr.daemon.alerts import conditions, step
from pgdr.daemon.series import dashboard_series
from pgdr.daemon.settings import AlertSettings
from pgdr.daemon.status import build_status
from pgdr.web.app import create_app
from pgdr.web.auth import Credentials
from tests.unit.daemon_facts import NOW, facts

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


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(Source(), Credentials(token="tok")))


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
    assert next(j for j in st["jobs"] if j["kind"] == "export")["unavailable"]
    h = client.get("/api/history", headers=AUTH).json()
    assert len(h["backup_success"]["days"]) == 30 and h["window"]["start"]
    assert client.get("/api/jobs?limit=0", headers=AUTH).json() == {"jobs": []}
    assert client.get("/api/jobs?limit=x", headers=AUTH).status_code == 400


def test_public_paths(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok\n"
    r = client.get("/metrics")
    assert r.status_code == 200 and r.text.startswith("pgdr_info")
    private = TestClient(create_app(Source(), Credentials(token="tok"), metrics_public=False))
    assert private.get("/metrics").status_code == 401


def test_read_only(client: TestClient) -> None:
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/api/status", headers=AUTH).status_code == 405


def test_page_is_self_contained(client: TestClient) -> None:
    html = client.get("/", headers=AUTH).text
    assert "function drawWindow" in html and "--ok:" in html  # script and style inlined
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from elsewhere
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
