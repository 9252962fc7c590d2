"""Another local OS user (``nobody``) trying to reach a PostgreSQL that pgdr started."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest


def nobody() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another OS user")
    return pwd.getpwnam("nobody")


def psql_as_nobody(bindir: Path, host: str, port: int) -> subprocess.CompletedProcess[str]:
    """``psql -c 'SELECT 1'`` as ``nobody`` against ``host`` (a socket directory or an
    address), as the cluster's superuser, never prompting for a password."""
    who = nobody()
    cmd = [str(bindir / "psql"), "-w", "-X", "-h", host, "-p", str(port), "-U", "postgres"]
    cmd += ["-d", "postgres", "-At", "-c", "SELECT 1"]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LC_ALL": "C"}
    return subprocess.run(
        cmd,
        user=who.pw_uid,
        group=who.pw_gid,
        extra_groups=[],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_refused(bindir: Path, socket_dir: Path, port: int) -> None:
    """Neither by TCP on 127.0.0.1 nor through the socket directory."""
    for host in ("127.0.0.1", str(socket_dir)):
        r = psql_as_nobody(bindir, host, port)
        assert r.returncode != 0 and r.stdout.strip() != "1", (host, r.stdout, r.stderr)
