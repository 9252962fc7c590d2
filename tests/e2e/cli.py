"""Run the pgdr CLI in a subprocess, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/root"),
    "LANG": "C.UTF-8",
    "PGDR_KDF_N": "1024",  # cheap scrypt for tests
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def state_env() -> dict[str, str | None]:
    return {"PGDR_STATE_DIR": os.environ.get("PGDR_STATE_DIR")}  # set by tests/conftest.py


def pgdr(
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    **kw: object,
) -> subprocess.CompletedProcess[str]:
    full_env = {**BASE_ENV, **state_env(), **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "pgdr", *map(str, args)],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,  # type: ignore[call-overload]
    )


def spawn(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pgdr", *map(str, args)],
        env={k: v for k, v in {**BASE_ENV, **state_env(), **(env or {})}.items() if v is not None},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def snapshot(root: Path) -> dict[str, int]:
    """Every file under root with its size: to prove a failed command wrote nothing."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()
    }


def one_line_error(r: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """The CLI failed as an operator should see it: exit ``code``, one line naming the cause
    (each of ``needles`` in it), perhaps a hint line, never a traceback."""
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) in (1, 2) and lines[0].startswith("pgdr: error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
