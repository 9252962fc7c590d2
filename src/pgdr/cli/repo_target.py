"""Turning configured repository settings into an open Repository: the backend, the key
source, and the unencrypted opt-in. Shared by every command that touches a repository."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pgdr.config_lean import LeanRepository, key_from_environment
from pgdr.errors import ConfigError, KeyMissing
from pgdr.repo import identity
from pgdr.repo.kdf_bounds import MAX_SCRYPT_N
from pgdr.repo.keys import DEFAULT_SCRYPT_N, KeyFile, KeySource, KmsKey, Passphrase
from pgdr.repo.repository import Repository
from pgdr.secrets import SecretRef
from pgdr.storage import StorageOptions, open_backend
from pgdr.storage.base import Backend

if TYPE_CHECKING:
    from concurrent.futures import Future

    from pgdr.config import Config, RepositorySettings, RetentionSettings
    from pgdr.replicate.follow import ReplicaLink

#: A repository's settings: validated by pgdr.config, or read back validated from the
#: lean path's cache (pgdr.config_lean; same field names, no pydantic import).
S = TypeVar("S", "RepositorySettings", LeanRepository)


@dataclass(frozen=True)
class RepoTarget:
    """Everything needed to reach one repository, secrets already resolved."""

    url: str
    storage: StorageOptions
    passphrase: str | None = None
    key_file: Path | None = None
    kms_key_id: str | None = None
    kms_region: str | None = None
    kms_endpoint: str | None = None
    pack_size: int | None = None
    compression_level: int | None = None
    unencrypted: bool = False


def kdf_n_from_env() -> int:
    raw = os.environ.get("PGDR_KDF_N")
    if not raw:
        return DEFAULT_SCRYPT_N
    try:
        n = int(raw)
    except ValueError:
        raise ConfigError(f"PGDR_KDF_N: not a number: {raw!r}") from None
    if n < 2 or n & (n - 1) or n > MAX_SCRYPT_N:
        raise ConfigError(f"PGDR_KDF_N: must be a power of two in 2..{MAX_SCRYPT_N} (got {n})")
    return n


def key_source(target: RepoTarget, kdf_n: int | None = None) -> KeySource | None:
    if target.kms_key_id:
        return KmsKey(
            target.kms_key_id,
            target.kms_region,
            target.kms_endpoint,
            access_key_id=target.storage.access_key_id,
            secret_access_key=target.storage.secret_access_key,
        )
    if target.key_file:
        return KeyFile(target.key_file)
    if target.passphrase is not None:
        return Passphrase(target.passphrase, scrypt_n=kdf_n or kdf_n_from_env())
    return None


def backend(target: RepoTarget) -> Backend:
    return open_backend(target.url, target.storage)


def open_repository(target: RepoTarget, *, check_identity: bool = True) -> Repository:
    """Open and unlock; unless told otherwise, refuse a repository whose identity differs
    from the one pinned on this host's first use (pinning it on first use)."""
    repo = Repository.open(
        backend(target), key_source(target), allow_unencrypted=target.unencrypted
    )
    if check_identity:
        identity.check_identity(identity.identity_of(repo))
    return repo


def open_repository_soon(target: RepoTarget) -> Future[Repository]:
    """:func:`open_repository` on a thread: a passphrase's scrypt (0.4-0.8 s, outside the
    GIL) runs while the command does what needs no key (a backup's catalog snapshot, a
    restore's imports). ``result()`` raises what opening raised."""
    from pgdr.cli import early_open
    from pgdr.threads import on_thread

    early = early_open.take(target)  # started by pgdr.entry before the CLI's imports
    if early is not None:
        logging.getLogger(__name__).debug("repository: opened before the CLI's imports")
        return on_thread("pgdr-open", _checked, early)
    return on_thread("pgdr-open", open_repository, target)


def _checked(opening: Future[Repository]) -> Repository:
    """The early opening's repository, once its identity is checked as
    :func:`open_repository` checks it (here, where logging is set up)."""
    repo = opening.result()
    identity.check_identity(identity.identity_of(repo))
    return repo


def resolve_passphrase(ref: SecretRef) -> str:
    """The passphrase a secret reference names; an empty one is refused, naming where it
    came from (it would open the repository for everyone)."""
    value = ref.resolve(allow_empty=True)
    if not value.strip():
        raise KeyMissing(f"passphrase from {ref} is empty; refusing an empty passphrase")
    return value


def target_from_settings(
    s: RepositorySettings | LeanRepository,
    *,
    unencrypted: bool = False,
    retention: RetentionSettings | None = None,
    deadline: float | None = None,
) -> RepoTarget:
    """``deadline``: an absolute ``time.monotonic()`` by which every storage operation of
    the command must have ended (wal-push)."""
    lock_days: float | None = s.s3.object_lock_days
    if lock_days is None and s.s3.object_lock_mode:  # window + margin (docs/design.md §8e)
        if retention is None:
            from pgdr.config import RetentionSettings

            retention = RetentionSettings()
        lock_days = retention.lock_days
    storage = StorageOptions(
        endpoint=s.s3.endpoint,
        region=s.s3.region,
        path_style=s.s3.path_style,
        access_key_id=s.s3.access_key_id.resolve() if s.s3.access_key_id else None,
        secret_access_key=s.s3.secret_access_key.resolve() if s.s3.secret_access_key else None,
        sse_kms_key_id=s.s3.sse_kms_key_id,
        storage_class=s.s3.storage_class,
        object_lock_mode=s.s3.object_lock_mode,
        object_lock_days=lock_days,
        connect_timeout=s.limits.connect_timeout_s,
        read_timeout=s.limits.read_timeout_s,
        retries=s.limits.retries,
        operation_timeout=s.limits.operation_timeout_s,
        concurrency=s.limits.concurrency,
        deadline=deadline,
    )
    passphrase = resolve_passphrase(s.passphrase) if s.passphrase else None
    key_file = s.key_file
    if not (passphrase or key_file or s.kms_key_id or s.unencrypted or unencrypted):
        # a configured repository that names no key takes it from the environment, as an
        # ad-hoc --repo URL does (the operator's input, never the repository's)
        from_env = key_from_environment()
        if "key_file" in from_env:
            key_file = Path(from_env["key_file"])
        elif "passphrase" in from_env:
            passphrase = resolve_passphrase(SecretRef(from_env["passphrase"]))
    return RepoTarget(
        url=s.url,
        storage=storage,
        passphrase=passphrase,
        key_file=key_file,
        kms_key_id=s.kms_key_id,
        kms_region=s.kms_region,
        kms_endpoint=s.kms_endpoint,
        pack_size=s.pack_size_mib << 20,
        compression_level=s.compression_level,
        unencrypted=s.unencrypted or unencrypted,
    )


def with_key_file(s: S, key_file: Path | None) -> S:
    """The repository's settings opened with ``key_file`` (``--key-file``, the server key of
    `pgdr setup`) instead of its configured key: the configured passphrase is then never
    read (its file may be unreadable to the server's OS user) and no KDF runs. Only this
    repository's key-file slots are tried with it; replicas are reached by their own
    settings."""
    if key_file is None:
        return s
    if isinstance(s, LeanRepository):
        return dataclasses.replace(s, passphrase=None, kms_key_id=None, key_file=key_file)
    return s.model_copy(update={"passphrase": None, "kms_key_id": None, "key_file": key_file})


def replica_links(
    config: Config, names: list[str], deadline: float | None = None
) -> list[ReplicaLink]:
    """Backends of the replicas a repository follows into (no key needed: WAL objects are
    copied sealed, exactly as stored)."""
    from pgdr.config import resolve_repository
    from pgdr.replicate.follow import ReplicaLink

    return [
        ReplicaLink(
            name,
            backend(target_from_settings(resolve_repository(config, name)[1], deadline=deadline)),
        )
        for name in names
    ]
