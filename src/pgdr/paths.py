"""Where pgdr keeps local state (drill sandbox markers, the daemon's job history and lock)."""

from __future__ import annotations

import os
from pathlib import Path


def default_state_dir() -> Path:
    """``PGDR_STATE_DIR``, else /var/lib/pgdr as root, else the XDG state directory."""
    env = os.environ.get("PGDR_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/pgdr")
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "pgdr"
