"""Who may read the dashboard: a bearer token, or HTTP basic auth (a configured user and
password, or any user name with the token as password). Pure; compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from pgdr.localfs import atomic_write, private_dir


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authorized(header: str | None, creds: Credentials) -> bool:
    if not header:
        return False
    # An empty secret is no secret (SecretRef refuses them; this guards other callers).
    creds = Credentials(creds.token or None, creds.username, creds.password or None)
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return creds.token is not None and _eq(value, creds.token)
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if not sep:
        return False
    if (
        creds.username is not None
        and creds.password is not None
        and _eq(user, creds.username)
        and _eq(password, creds.password)
    ):
        return True
    return creds.token is not None and _eq(password, creds.token)


def ensure_token(path: Path) -> str:
    """The generated token in ``path`` (mode 0600), created on first use."""
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(24)
    private_dir(path.parent)
    atomic_write(path, token + "\n")
    return token
