"""Free space where it matters: the repository (file:// only; object stores report none)
and the database's data directory."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pgdr.daemon.facts import Volume


def volume(name: str, path: str) -> Volume | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return Volume(name, path, st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize)


def repository_path(url: str) -> str | None:
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    return parts.path if parts.scheme == "file" else None


def collect_volumes(repo_url: str, data_dir: str | None) -> list[Volume]:
    out = []
    path = repository_path(repo_url)
    if path is not None:
        # A repository that is gone (unmounted, moved) has no free space to report.
        v = volume("repository", path) if os.path.isdir(path) else None
        if v is not None:
            out.append(v)
    if data_dir:
        v = volume("pgdata", data_dir)
        if v is not None:
            out.append(v)
    return out
