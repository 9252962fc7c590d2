"""Dashboard credentials: bearer token, basic auth with the token or a user and password."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pgdr.web.auth import Credentials, authorized, ensure_token

pytestmark = pytest.mark.unit


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


TOKEN = Credentials(token="s3cret")
USER = Credentials(username="ops", password="pw")


@pytest.mark.parametrize(
    ("header", "creds", "ok"),
    [
        ("Bearer s3cret", TOKEN, True),
        ("bearer s3cret", TOKEN, True),
        ("Bearer s3cre", TOKEN, False),
        ("Bearer ", TOKEN, False),
        (basic("anyone", "s3cret"), TOKEN, True),
        (basic("anyone", "wrong"), TOKEN, False),
        (basic("ops", "pw"), USER, True),
        (basic("ops", "nope"), USER, False),
        (basic("other", "pw"), USER, False),
        ("Bearer pw", USER, False),  # a password is not a token
        ("Basic !!!notbase64", TOKEN, False),
        ("Basic " + base64.b64encode(b"no-colon").decode(), TOKEN, False),
        ("Digest abc", TOKEN, False),
        (None, TOKEN, False),
        ("", TOKEN, False),
        # an empty secret is no secret: nothing matches it
        ("Bearer ", Credentials(token=""), False),
        (basic("x", ""), Credentials(token=""), False),
        (basic("ops", ""), Credentials(username="ops", password=""), False),
    ],
)
def test_authorized(header: str | None, creds: Credentials, ok: bool) -> None:
    assert authorized(header, creds) is ok


def test_generated_token_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "state" / "web-token"
    token = ensure_token(path)
    assert len(token) >= 24 and path.stat().st_mode & 0o777 == 0o600
    assert ensure_token(path) == token
