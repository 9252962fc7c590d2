"""Whether a `pgdr serve` runs for a state directory, and since when.

The daemon holds ``<state dir>/daemon.lock`` (flock) for its life and writes into it
``pid N since ISO-TIME``; an orderly shutdown empties it. `pgdr status` reads that line and
asks whether the pid is alive (``pgdr.localfs.pid_alive``) and still a pgdr process, so a
daemon killed with SIGKILL whose pid was reused is not reported as running. It never takes
the lock itself: a probe could make a daemon starting at that moment refuse to start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pgdr.localfs import pid_alive

LOCK_NAME = "daemon.lock"


def lock_line(pid: int, started: datetime) -> str:
    return f"pid {pid} since {started.isoformat(timespec='seconds')}\n"


def parse_lock_line(text: str) -> tuple[int | None, str | None]:
    """``(pid, since)`` of a lock file's text; ``(None, None)`` when it names no pid (empty:
    the daemon stopped in order)."""
    words = text.split()
    if len(words) < 2 or words[0] != "pid" or not words[1].isdigit():
        return None, None
    since = words[3] if len(words) >= 4 and words[2] == "since" else None
    return int(words[1]), since


def is_pgdr(pid: int) -> bool:
    """The process' command line mentions pgdr (True when it cannot be read)."""
    try:
        return b"pgdr" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def presence(
    state_dir: Path,
    alive: Callable[[int], bool] = pid_alive,
    ours: Callable[[int], bool] = is_pgdr,
) -> dict[str, Any]:
    """``running`` (None: cannot tell), ``pid``, ``since``, ``state_dir`` and a ``detail``
    sentence for `pgdr status`."""
    out: dict[str, Any] = {
        "running": False,
        "pid": None,
        "since": None,
        "state_dir": str(state_dir),
    }
    path = state_dir / LOCK_NAME
    try:
        text = path.read_text()
    except FileNotFoundError:
        out["detail"] = f"not running (no daemon has used {state_dir})"
        return out
    except OSError as e:
        out["running"] = None
        out["detail"] = f"unknown: cannot read {path} ({e.strerror}); run as the daemon's user"
        return out
    pid, since = parse_lock_line(text)
    if pid is None:
        out["detail"] = f"not running (state {state_dir})"
        return out
    out["pid"], out["since"] = pid, since
    if not (alive(pid) and ours(pid)):
        out["detail"] = f"not running (pid {pid} gone; state {state_dir})"
        return out
    out["running"] = True
    out["detail"] = f"running, pid {pid}" + (f", since {since}" if since else "")
    out["detail"] += f" (state {state_dir})"
    return out
