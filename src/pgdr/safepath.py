"""Which paths and modes a repository object may name for pgdr to create (pure).

The repository is input an attacker may write (docs/design.md §11): a manifest is checked
with these rules before anything it names is written. A path is accepted only relative and
normalised — '/'-separated names, none empty, '.' or '..', no NUL — so joined to a target
directory it stays inside it. Modes never carry setuid, setgid or sticky bits into what pgdr
writes, nor group or other permission bits.
"""

from __future__ import annotations

import math

MAX_PATH = 4096  # PATH_MAX: a longer one only fails half-way through a restore
MAX_NAME = 255  # NAME_MAX
SPECIAL_BITS = 0o7000  # setuid, setgid, sticky
DIR_MODE = 0o700
FILE_MODE_MASK = 0o600


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a safe relative path, or None when it is."""
    if not isinstance(path, str) or not path:
        return "empty or not a string"
    if "\0" in path:
        return "contains a NUL byte"
    if path.startswith("/"):
        return "absolute path"
    parts = path.split("/")
    if ".." in parts:
        return "'..' component"
    if any(p in ("", ".") for p in parts):
        return "not normalised (empty or '.' component)"
    if len(path.encode("utf-8", "surrogateescape")) > MAX_PATH or any(
        len(p.encode("utf-8", "surrogateescape")) > MAX_NAME for p in parts
    ):
        return "name too long"
    return None


def absolute_problem(path: object) -> str | None:
    """Why ``path`` is not an absolute, normalised path (a tablespace location)."""
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        return "not an absolute directory path"
    return path_problem(path[1:])


def mode_problem(mode: object, *, directory: bool) -> str | None:
    """Why a stored mode is refused: not a permission mode, or setuid (anything), setgid or
    sticky on a file. A directory's setgid/sticky bits are masked instead (a directory made
    inside a setgid directory inherits the bit, so a real data directory can carry it)."""
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o7777:
        return "mode is not a permission mode"
    special = mode & (0o4000 if directory else SPECIAL_BITS)
    if special:
        return f"mode {mode:04o} has setuid/setgid/sticky bits"
    return None


def file_mode(mode: int) -> int:
    """The mode a restored file gets: the owner's read/write bits of the stored one."""
    return mode & FILE_MODE_MASK


def mtime_problem(mtime: object) -> str | None:
    if isinstance(mtime, bool) or not isinstance(mtime, int | float) or not math.isfinite(mtime):
        return "mtime is not a finite number"
    if not -(2**40) < mtime < 2**40:
        return "mtime out of range"
    return None


def is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
