"""An empty web token or password is refused when `pgdr serve` reads it (exit 2, one line),
before anything listens: an empty secret would let every request in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e

REPO = '[repositories.main]\nurl = "file://{root}/repo"\nunencrypted = true\n\n'


@pytest.mark.parametrize(
    ("web", "env"),
    [
        ('token = "env:WEB_TOKEN"', {"WEB_TOKEN": ""}),
        ('token = "file:{root}/token"', {}),
        ('username = "ops"\npassword = "env:WEB_PW"', {"WEB_PW": " "}),
    ],
)
def test_serve_refuses_empty_web_secret(tmp_path: Path, web: str, env: dict[str, str]) -> None:
    (tmp_path / "token").write_text("\n")
    cfg = tmp_path / "pgdr.toml"
    web = web.replace("{root}", str(tmp_path))
    cfg.write_text(REPO.format(root=tmp_path) + f'[web]\nlisten = "127.0.0.1:0"\n{web}\n')
    r = pgdr("--config", cfg, "serve", env=env, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("pgdr: error: secret ") and "is empty" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
