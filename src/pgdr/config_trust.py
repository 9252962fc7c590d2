"""Whether a config file may be used by this process — git's ``safe.directory`` problem.

A config file names the repository, the binaries pgdr runs (as root, often) and the SQL a
drill runs, so whoever can write it can act as whoever runs pgdr. A file found on the search
path (``./pgdr.toml`` in a shared directory, most of all) must therefore belong to the user
running pgdr or to root, sit in a directory only they can change, and, for root, be writable
by nobody else. A file named explicitly (``--config``, ``$PGDR_CONFIG``) is the operator's
choice and may belong to someone else, but never one that every user can write.

:func:`untrusted_reason` is the pure rule; :func:`check_config_file` applies it to a path.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from pgdr.errors import ConfigError


def _who(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def untrusted_reason(
    file_st: os.stat_result, dir_st: os.stat_result, euid: int, *, explicit: bool
) -> str | None:
    """None when a file with ``file_st`` in a directory with ``dir_st`` may be read by a
    process with ``euid``, else the reason (one phrase, no trailing period)."""
    if file_st.st_mode & stat.S_IWOTH:
        return "it is writable by every user"
    if explicit:
        return None
    trusted = {0, euid}
    if file_st.st_uid not in trusted:
        return f"it is owned by {_who(file_st.st_uid)}, not by {_who(euid)} or root"
    if euid == 0 and file_st.st_mode & stat.S_IWGRP:
        return "it is writable by its group"
    if dir_st.st_uid not in trusted:
        return f"its directory is owned by {_who(dir_st.st_uid)}"
    sticky = dir_st.st_mode & stat.S_ISVTX
    if dir_st.st_mode & stat.S_IWOTH and not sticky:
        return "its directory is writable by every user"
    if euid == 0 and dir_st.st_mode & stat.S_IWGRP and not sticky:
        return "its directory is writable by its group"
    return None


def check_config_file(path: Path, *, explicit: bool, source: str = "") -> None:
    """Raise ConfigError when ``path`` must not be used (see the module docstring)."""
    real = path.resolve()
    try:
        file_st = real.stat()
        dir_st = real.parent.stat()
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot inspect: {e.strerror}") from None
    reason = untrusted_reason(file_st, dir_st, os.geteuid(), explicit=explicit)
    if reason is None:
        return
    shown = f"{path}{source}" if real == path else f"{path} (-> {real}){source}"
    if explicit or file_st.st_mode & stat.S_IWOTH:
        fix = f"chmod o-w {real} if you trust it"
    else:
        fix = f"pass it with --config {real} if you trust it, or fix its owner and mode"
    raise ConfigError(f"refusing config file {shown}: {reason}; {fix}")
