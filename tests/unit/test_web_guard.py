"""The dashboard's Host allow-list (DNS rebinding), as a table."""

from __future__ import annotations

import pytest

from pgdr.web.guard import default_hosts, host_allowed, host_name

pytestmark = pytest.mark.unit

LOCAL = default_hosts("127.0.0.1", ["pgdr.example.com"])


@pytest.mark.parametrize(
    ("header", "names", "ok"),
    [
        ("localhost:8484", LOCAL, True),
        ("LOCALHOST", LOCAL, True),
        ("127.0.0.1:8484", LOCAL, True),
        ("[::1]:8484", LOCAL, True),
        ("10.1.2.3:8484", LOCAL, True),  # any IP literal: a browser sends it only if typed
        ("pgdr.example.com:443", LOCAL, True),
        ("pgdr.example.com.", LOCAL, True),
        ("evil.example:8484", LOCAL, False),
        ("127.0.0.1.evil.example", LOCAL, False),
        ("localhost.evil.example", LOCAL, False),
        ("", LOCAL, False),
        (None, LOCAL, False),
        ("anything.example", default_hosts("::", ["*"]), True),
        ("db1.internal:8484", default_hosts("db1.internal"), True),  # the bind host's name
        ("0.0.0.0", default_hosts("0.0.0.0"), True),
    ],
)
def test_host_allowed(header: str | None, names: frozenset[str], ok: bool) -> None:
    assert host_allowed(header, names) is ok


def test_host_name() -> None:
    assert host_name("Example.COM:80") == "example.com"
    assert host_name("[2001:db8::1]:8484") == "2001:db8::1"
    assert host_name("::1") == "::1"
    assert "0.0.0.0" not in default_hosts("0.0.0.0") and "localhost" in default_hosts("::")


def test_allowed_hosts_setting() -> None:
    from pgdr.daemon.settings import WebSettings

    assert WebSettings().metrics_public is False and WebSettings().allowed_hosts == []
    assert WebSettings(allowed_hosts=["pgdr.example.com", "*"]).allowed_hosts[1] == "*"
    for bad in ("https://pgdr.example.com", "pgdr.example.com/x", "", "a b"):
        with pytest.raises(ValueError, match="expected host names"):
            WebSettings(allowed_hosts=[bad])
