"""Sandbox markers: a small JSON file per live sandbox in a local state directory, written
before the sandbox exists and removed after it is gone. A drill killed with SIGKILL leaves
its marker behind; the next drill (or `pgdr drill cleanup`) finds markers whose owner is
dead, stops the orphaned postgres and removes the directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pgdr.errors import SandboxError
from pgdr.localfs import atomic_write, private_dir


@dataclass
class Marker:
    drill_id: str
    pid: int  # the drill process
    pid_start: str  # its start time in clock ticks (/proc/PID/stat), against pid reuse
    base_dir: str  # everything the sandbox owns lives below it
    data_dir: str
    port: int
    created: str
    kept: bool = False  # --keep: not an orphan, left on purpose
    extra: list[str] = field(default_factory=list)  # outside base_dir (a short socket dir)


def process_start(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_alive(m: Marker) -> bool:
    start = process_start(m.pid)
    return bool(start) and start == m.pid_start


def sandboxes_dir(state_dir: Path) -> Path:
    d = state_dir / "sandboxes"
    try:
        private_dir(d)
    except OSError as e:
        raise SandboxError(
            f"drill state directory {d} is not usable: {e.strerror}",
            hint="set [drill] state_dir or PGDR_STATE_DIR to a writable directory",
        ) from None
    return d


def write_marker(state_dir: Path, m: Marker) -> Path:
    path = sandboxes_dir(state_dir) / f"{m.drill_id}.json"
    atomic_write(path, json.dumps(asdict(m)))
    return path


def read_markers(state_dir: Path) -> list[tuple[Path, Marker]]:
    out = []
    for p in sorted(sandboxes_dir(state_dir).glob("*.json")):
        try:
            out.append((p, Marker(**json.loads(p.read_text()))))
        except (OSError, ValueError, TypeError):
            continue  # half-written by a crash: nothing was created yet
    return out
