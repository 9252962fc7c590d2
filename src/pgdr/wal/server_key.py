"""The database server's own key: a key file for the OS user that runs archive_command.

A passphrase slot costs a memory-hard KDF (scrypt, n = 2^17: ~0.5 s and 128 MiB) on every
open, and PostgreSQL starts one ``pgdr wal-push``/``wal-fetch`` per WAL file. So
``pgdr setup --apply`` gives the server's OS user a key-file slot of its own (HKDF: micro-
seconds) and writes an archive_command that names it with ``--key-file``; the passphrase
stays the operator's key and is never read on the server's hot path (docs/design.md §5, §11).

The key file is 64 random bytes (base64), mode 0600, owned by the server's OS user, in a
0700 directory of that user's state (``~/.local/state/pgdr/server-keys``, never inside
PGDATA: base backups copy PGDATA), named after the repository URL. Re-running setup reuses
it: the slot it opens is found by trying it (HKDF is cheap), and one is added only when no
slot opens (first run, or the slot was removed or lost to ``key revoke``).
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from pgdr.errors import ConfigError, WrongKey
from pgdr.localfs import private_dir
from pgdr.paths import default_state_dir
from pgdr.pg.osuser import RunAs
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository


@dataclass(frozen=True)
class ServerKey:
    path: Path
    slot_id: str
    created: bool  # a new key file was written
    added: bool  # a new slot was added to the repository


def default_key_dir(runas: RunAs) -> Path:
    """Where the server's OS user keeps its key files: its own pgdr state directory."""
    if not runas.switches:
        return default_state_dir() / "server-keys"
    return Path(runas.home) / ".local" / "state" / "pgdr" / "server-keys"


def key_path(key_dir: Path, url: str) -> Path:
    """One key file per repository URL (like the identity pins, §5)."""
    return key_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.key"


def label_for(runas: RunAs) -> str:
    """What `pgdr key list` shows for the slot: whose key it is and on which host."""
    return f"server key of {runas.name}@{socket.gethostname()}"


def check_outside(key_dir: Path, data_dir: Path | None) -> None:
    """Base backups copy PGDATA: a key inside it would be stored beside the data it opens."""
    if data_dir is None:
        return
    d, k = data_dir.resolve(), key_dir.resolve()
    if k == d or d in k.parents:
        raise ConfigError(
            f"server key directory {key_dir} is inside PGDATA ({data_dir}); "
            "backups would copy the key: choose another with --server-key-dir"
        )


def _check_private(path: Path, runas: RunAs) -> None:
    """An existing key file is reused only when it is the server user's own and private."""
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode) or st.st_uid != runas.uid or st.st_mode & 0o077:
        raise ConfigError(
            f"server key {path} must be a regular file owned by {runas.name} with mode 0600 "
            f"(found owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o}); "
            "fix or remove it and run setup again"
        )


def ensure(repo: Repository, runas: RunAs, path: Path) -> ServerKey:
    """Create (or reuse) the server user's key file ``path`` (:func:`key_path`) and make
    sure a slot of ``repo`` opens with it. ``repo`` is open with the operator's key. Order:
    the key file is durable before its slot is written, so a crash leaves at worst an
    unused file that the next run reuses."""
    key_dir = path.parent

    def hand_over(p: Path) -> None:
        if runas.switches:
            os.chown(p, runas.uid, runas.gid, follow_symlinks=False)

    private_dir(key_dir, created=hand_over)
    created = False
    if not path.exists():
        generate_key_file(path)
        hand_over(path)
        created = True
    _check_private(path, runas)
    source = KeyFile(path)
    if not created:
        try:
            master, slot_id = Repository.find_slot(repo.backend, repo.config, source)
            if master == repo.master:
                return ServerKey(path, slot_id, created=False, added=False)
        except WrongKey:
            pass
    slot = repo.add_key(source, label_for(runas))
    return ServerKey(path, slot.slot_id, created=created, added=True)


def existing(key_dir: Path, url: str) -> Path | None:
    """The server key of a repository, when setup made one (for the restored server's
    restore_command and archive_command)."""
    path = key_path(key_dir, url)
    try:
        return path if path.is_file() else None
    except OSError:  # e.g. a home we may not traverse
        return None
