"""The restore_command and archive_command a restored server is configured with."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

PREFETCH_DIR = "pgdr_prefetch"  # inside the restored PGDATA; backups skip it
HANDED_OVER = f"{PREFETCH_DIR}/prefetch/%f"  # where restore_command's shell looks first
#: An empty file here: the restore knows the name is not archived (``pgdr.restore.seed``).
ABSENT = f"{PREFETCH_DIR}/absent/%f"
#: An empty file here: the shell handed the segment over already. PostgreSQL keeps a
#: segment restore_command gave it in pg_wal under its own name and asks the archive first
#: when it reads the segment again (at the end of recovery): "not archived" sends it to
#: pg_wal. Not a history file: PostgreSQL reads those again and again without keeping them,
#: so the shell copies them and leaves them in place.
SERVED = f"{PREFETCH_DIR}/served/%f"
FIRST_HISTORY = "00000001.history"


def hand_over_command() -> str:
    """restore_command that only takes the files a restore placed (``place_all_wal``) and
    answers "not archived" for anything else: a drill sandbox never reaches the repository
    and needs no key, config or credentials. History files are copied, not moved: PostgreSQL
    asks for the target timeline's more than once (``SERVED``)."""
    return (
        f"[ %f = {FIRST_HISTORY} ] && exit 1; test -f {HANDED_OVER} || exit 1; "
        f"case %f in *.history) cp {HANDED_OVER} %p;; *) mv -f {HANDED_OVER} %p;; esac"
    )


def default_restore_command(
    config: Path | None, repo: str | None, prefetch: int = 8, key_file: Path | None = None
) -> str:
    """restore_command for the restored server. With ``prefetch``, each fetch starts a
    background fetch of the next segments into PGDATA/pgdr_prefetch (restore_command runs
    with PGDATA as its working directory), so replay rarely waits for the repository.
    ``key_file``: the server key (pgdr.wal.server_key), so no KDF runs per fetch."""
    parts = [sys.executable, "-m", "pgdr"]
    if config is not None:
        parts += ["--config", str(config.resolve())]
    if repo:
        parts += ["--repo", repo]
    if key_file is not None:
        parts += ["--key-file", str(key_file)]
    parts.append("wal-fetch")
    if prefetch:
        parts += ["--prefetch", str(prefetch), "--spool", PREFETCH_DIR]
    command = " ".join(shlex.quote(p) for p in parts) + " %f %p"
    if prefetch:  # a placed or prefetched file is handed over by the shell: no Python start
        command = (
            f"if test -f {HANDED_OVER}; then case %f in *.history) cp {HANDED_OVER} %p || exit 1;; "
            f"*) mv -f {HANDED_OVER} %p || exit 1; {{ true > {SERVED}; }} 2>/dev/null;; esac; "
            "exit 0; fi; "
            f"test -f {ABSENT} -o -f {SERVED} && exit 1; {command}"
        )
    # Timeline 1 never has a history file, yet PostgreSQL asks for it when it promotes from
    # timeline 1 (to copy the parent's history): answer "not archived" without Python.
    return f"[ %f = {FIRST_HISTORY} ] && exit 1; {command}"


def default_archive_command(
    config: Path, repo: str | None, key_file: Path | None = None, pusher: Path | None = None
) -> str:
    """archive_command that archives into the repository a restore came from (the same
    ``--config``/``--repo`` it was opened with), as `pgdr setup` writes it: through the
    resident pusher in ``pusher`` when given (``wal-push --spool DIR %p``)."""
    import shutil

    exe = shutil.which("pgdr")
    parts = [exe] if exe else [sys.executable, "-m", "pgdr"]
    parts += ["--config", str(config.resolve())]
    if repo:
        parts += ["--repo", repo]
    if key_file is not None:
        parts += ["--key-file", str(key_file)]
    spool = f" --spool {shlex.quote(str(pusher))}" if pusher is not None else ""
    return " ".join(shlex.quote(p) for p in parts) + f" wal-push{spool} %p"
