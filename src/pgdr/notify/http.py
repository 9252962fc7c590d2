"""POSTing JSON with the standard library: one attempt plus one retry on a connection
error or a 5xx/429, and a one-line NotifyError naming the channel otherwise.

Webhook URLs (Slack's above all) and the keys sent along are credentials, and these errors
end up in drill records, job records and logs: a message names the channel and the cause,
never a secret URL, header value or key — not even inside what urllib or the server said.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pgdr.errors import NotifyError

SECRET_URL = "<secret url>"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be POSTed to (without quoting it), or None."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "URL is malformed"
    if not parts.scheme:
        return "URL has no scheme (expected https://...)"
    if parts.scheme not in ("http", "https"):
        return "URL scheme is not http or https"
    if not parts.hostname:
        return "URL has no host"
    if any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return "URL contains spaces or control characters"
    return None


def _url_parts(url: str) -> list[str]:
    """The URL and the parts of it a server may quote back (path, query, credentials)."""
    out = [url, url.strip()]
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return out
    out += [p for p in (parts.path, parts.query, parts.netloc) if len(p) > 1]
    return out


def scrub(text: str, secrets: Sequence[str]) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, "<secret>")
    return text


def post_json(
    channel: str,
    url: str,
    body: Any,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    secret_url: bool = False,
    secrets: Sequence[str] = (),
) -> bytes:
    """POST ``body`` as JSON; return the response body. ``secret_url``: the URL is a
    credential and is never shown; ``secrets``: other values (header values, keys) that must
    not appear in an error either."""
    shown = SECRET_URL if secret_url else url
    hidden = [*secrets, *(_url_parts(url) if secret_url else ())]

    def fail(reason: str) -> NotifyError:
        text = f"notification channel {channel!r} failed: {reason}"
        return NotifyError(scrub(text, hidden).replace("\n", " "))

    problem = url_problem(url)
    if problem is not None:
        raise fail(problem if secret_url else f"{problem}: {url!r}")
    data = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", "User-Agent": "pgdr", **(headers or {})}
    last = ""
    for attempt in range(2):
        try:
            req = urllib.request.Request(url.strip(), data=data, headers=hdrs, method="POST")
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as e:
            detail = e.read()[:200].decode(errors="replace").strip()
            last = f"HTTP {e.code} from {shown}" + (f": {detail}" if detail else "")
            if e.code < 500 and e.code != 429:
                break
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            last = f"cannot reach {shown}: {reason}"
        except ValueError as e:  # http.client.InvalidURL and friends quote the URL
            raise fail(f"invalid URL ({type(e).__name__})") from None
        if attempt == 0:
            time.sleep(0.5)
    raise fail(last)
