"""The repository's identity pinned on first use (docs/design.md §5, §11).

Key slots, the keyring and ``config`` are storage an attacker with bucket write may replace
together: a repository under a master key the attacker knows would otherwise be used
silently from then on (WAL, backups and drills encrypted for the attacker). So each OS user
remembers, per repository URL, the repository id and a fingerprint of the master key the
first time it opens the repository (``repo init`` pins what it creates), and refuses a
different one with ``RepositoryIdentityChanged`` until ``pgdr repo trust`` accepts it.

Pins live in ``<state dir>/identity/<url hash>-<uid>.json`` (owner-only, written atomically
with fsync). The state directory is per OS user (``pgdr.paths.default_state_dir``): root's
and the ``postgres`` user's (archive_command) pins are separate, each taken on that user's
first use. A pin that cannot be read or written is a warning, never a failure: ``wal-push``
must not stop archiving over local state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgdr.errors import RepositoryIdentityChanged
from pgdr.localfs import atomic_write, private_dir
from pgdr.paths import default_state_dir

if TYPE_CHECKING:
    from pgdr.repo.repository import Repository

log = logging.getLogger(__name__)
UNENCRYPTED = "unencrypted"


@dataclass(frozen=True)
class Identity:
    url: str
    repo_id: str
    #: MasterKey.fingerprint, or "unencrypted"
    master: str


@dataclass(frozen=True)
class Pinned:
    identity: Identity
    pinned_at: float
    path: Path


def pin_path(url: str, state_dir: Path | None = None) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    return (state_dir or default_state_dir()) / "identity" / f"{digest}-{os.geteuid()}.json"


def read_pin(url: str, state_dir: Path | None = None) -> Pinned | None:
    """The pin for ``url``, None when there is none. Raises OSError/ValueError when one
    exists but cannot be read or parsed."""
    path = pin_path(url, state_dir)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    doc = json.loads(raw)
    ident = Identity(str(doc["url"]), str(doc["repo_id"]), str(doc["master"]))
    return Pinned(ident, float(doc["pinned_at"]), path)


def write_pin(ident: Identity, state_dir: Path | None = None) -> Path:
    """Pin ``ident`` (replacing any pin for its URL): owner-only, atomic, durable."""
    path = pin_path(ident.url, state_dir)
    private_dir(path.parent)
    doc = {
        "url": ident.url,
        "repo_id": ident.repo_id,
        "master": ident.master,
        "pinned_at": time.time(),
    }
    atomic_write(path, json.dumps(doc, sort_keys=True) + "\n")
    return path


def differences(pinned: Identity, seen: Identity) -> list[str]:
    out = []
    if pinned.repo_id != seen.repo_id:
        out.append(f"repository id {pinned.repo_id} -> {seen.repo_id}")
    if pinned.master != seen.master:
        out.append(f"master key fingerprint {pinned.master} -> {seen.master}")
    return out


def check_identity(seen: Identity, state_dir: Path | None = None) -> None:
    """Pin ``seen`` on first use; raise RepositoryIdentityChanged when it differs from the
    pin. Unusable local state is logged, never raised."""
    try:
        pinned = read_pin(seen.url, state_dir)
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("repository identity not checked: pin for %s unusable: %s", seen.url, e)
        return
    if pinned is None:
        try:
            write_pin(seen, state_dir)
        except OSError as e:
            log.warning("repository identity not pinned for %s: %s", seen.url, e)
        return
    changed = differences(pinned.identity, seen)
    if changed:
        raise RepositoryIdentityChanged(
            f"repository at {seen.url} is not the one this host pinned on first use: "
            f"{'; '.join(changed)} (pin {pinned.path}); if it was replaced legitimately, "
            "accept it with `pgdr repo trust` (same --config/--repo)"
        )


def identity_of(repo: Repository) -> Identity:
    master = repo.master.fingerprint if repo.master is not None else UNENCRYPTED
    return Identity(repo.backend.url, repo.config.repo_id, master)
