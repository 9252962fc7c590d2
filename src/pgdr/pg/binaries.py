"""The PostgreSQL installation: where its programs are, which major version they are, the
environment to run them in, how to boil their failure output down to one line, and how to
write values into their configuration files."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pgdr.errors import PostgresError

#: Where distributions install versioned server binaries (Debian/Ubuntu layout).
SEARCH_GLOB = "/usr/lib/postgresql/*/bin"

_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def _has_postgres(bindir: Path) -> bool:
    return (bindir / "postgres").is_file()


def _version_key(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in path.parent.name.split("."))
    except ValueError:
        return (-1,)


def find_bindir(configured: str | Path | None = None) -> Path:
    """Directory holding ``postgres``, ``initdb``, ``pg_ctl``…

    Order: ``configured`` (must contain ``postgres``; no fallback if it does not), then
    ``pg_config --bindir`` when ``pg_config`` is on PATH, then the highest-version
    ``/usr/lib/postgresql/*/bin``.
    """
    if configured is not None:
        path = Path(configured).expanduser()
        if _has_postgres(path):
            return path.resolve()
        raise PostgresError(f"configured PostgreSQL bindir {path} has no 'postgres' binary")
    tried: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        tried.append("pg_config (not on PATH)")
    else:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            tried.append(f"{pg_config} --bindir (failed)")
        else:
            if out and _has_postgres(Path(out)):
                return Path(out).resolve()
            tried.append(f"{pg_config} --bindir ({out or 'empty'}: no postgres)")
    for cand in sorted(Path("/").glob(SEARCH_GLOB.lstrip("/")), key=_version_key, reverse=True):
        if _has_postgres(cand):
            return cand.resolve()
    tried.append(SEARCH_GLOB)
    raise PostgresError(
        "PostgreSQL server binaries not found; tried: " + "; ".join(tried),
        hint="install the PostgreSQL server package or configure the bindir",
    )


def tool(bindir: Path, name: str) -> Path:
    """Path of one binary in ``bindir``; PostgresError if it is missing."""
    path = Path(bindir) / name
    if not path.is_file():
        raise PostgresError(f"PostgreSQL tool {name!r} not found in {bindir}")
    return path


@functools.lru_cache(maxsize=16)
def _version(postgres: Path) -> int:
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise PostgresError(f"cannot run {postgres} --version: {exc}") from exc
    m = _VERSION_RE.search(out)
    if m is None:
        raise PostgresError(f"unrecognised output from {postgres} --version: {out.strip()!r}")
    return int(m.group(1))


def server_version(bindir: str | Path) -> int:
    """Major version of the server in ``bindir`` (e.g. 15), from ``postgres --version``.

    ``postgres --version`` is allowed as root, so no user switch is needed.
    """
    return _version(tool(Path(bindir), "postgres").resolve())


#: What a PostgreSQL server (and the tools run beside it) may inherit from pgdr's
#: environment: how to find programs, who it is (replaced when we switch to the server's OS
#: user), the locale and time zone, where temporary files go, and
#: pgdr's state directory (a path, for the archive_command of clusters pgdr starts). Never
#: PGDR_PASSPHRASE, AWS_*, tokens or webhook URLs: the server's OS user can read its own
#: environment (/proc/<pid>/environ), and SQL superusers can run programs as it.
SERVER_ENV = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PGDR_STATE_DIR"}
)


def server_env() -> dict[str, str]:
    """The allow-listed part of our environment (:data:`SERVER_ENV` and ``LC_*``, none of
    the PG* variables that would misdirect the server tools), with C messages so logs parse
    the same everywhere. A restored server's restore_command therefore has no key from us:
    a drill places all the WAL it needs before the start (``restore.run``)."""
    env = {k: v for k, v in os.environ.items() if k in SERVER_ENV or k.startswith("LC_")}
    env["LC_ALL"] = "C"
    return env


_SEVERITY_RE = re.compile(r"\b(PANIC|FATAL|ERROR):\s+(.*)")
_NOISE = ("waiting for server", "stopped waiting", "could not start server", "Examine the log")


def one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(log_text: str, tool_output: str = "") -> str:
    """The most telling single line of a failure: a port clash, else the server log's last
    PANIC, FATAL or ERROR, else the last line a tool printed (minus pg_ctl's chatter)."""
    clash = [ln for ln in log_text.splitlines() if "Address already in use" in ln]
    if clash:
        return f"port already in use ({one_line(clash[-1])})"
    for severity in ("PANIC", "FATAL", "ERROR"):
        for line in reversed(log_text.splitlines()):
            m = _SEVERITY_RE.search(line)
            if m and m.group(1) == severity:
                return one_line(f"{severity}: {m.group(2)}")
    for text in (tool_output, log_text):
        lines = [ln for ln in text.splitlines() if ln.strip() and not any(n in ln for n in _NOISE)]
        if lines:
            return one_line(lines[-1])
    return "no reason given"


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def conf_value(value: object) -> str:
    """A value as PostgreSQL's config files (and ALTER SYSTEM) write it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if "\n" in text or "\r" in text:
        raise PostgresError(f"configuration value {text!r} contains a newline")
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def merge_conf(text: str, settings: Mapping[str, object]) -> str:
    """Config-file ``text`` with ``settings`` appended and earlier lines setting the same
    parameters (case-insensitively) removed, as ALTER SYSTEM does for postgresql.auto.conf."""
    if bad := [n for n in settings if not _NAME_RE.fullmatch(n)]:
        raise PostgresError(f"invalid configuration parameter name {bad[0]!r}")
    names = {n.lower() for n in settings}
    keep = [
        ln
        for ln in text.splitlines()
        if not ((m := _NAME_RE.match(ln.strip())) and m[0].lower() in names)
    ]
    keep += [f"{k} = {conf_value(v)}" for k, v in settings.items()]
    return "\n".join(keep) + "\n"
