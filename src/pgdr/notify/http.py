"""POSTing JSON with the standard library: one attempt plus one retry on a connection
error or a 5xx/429, and a one-line NotifyError naming the channel otherwise."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from pgdr.errors import NotifyError


def post_json(
    channel: str,
    url: str,
    body: Any,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    redact: str | None = None,
) -> bytes:
    """POST ``body`` as JSON; return the response body. ``redact``: a secret URL that must
    never appear in a message (Slack webhook URLs are credentials)."""
    data = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", "User-Agent": "pgdr", **(headers or {})}
    shown = "<secret url>" if redact else url
    last = ""
    for attempt in range(2):
        req = urllib.request.Request(url, data=data, headers=hdrs, method="POST")
        try:
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
        if attempt == 0:
            time.sleep(0.5)
    raise NotifyError(f"notification channel {channel!r} failed: {last}")
