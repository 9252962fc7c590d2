"""The configuration as archive_command and restore_command need it, without pydantic.

PostgreSQL starts one ``pgdr wal-push``/``wal-fetch`` per WAL file; validating the config
file with pydantic costs such a process more than the push itself (importing pydantic and
building the models: ~0.3 s here, far more on a loaded host). So the lean entry path
(pgdr.cli.wal_entry) reads the repositories from a cache of the *validated* config: after
pgdr.config validated a file, the settings it needs are written as JSON to the running
user's state directory (``config-cache/``, owner-only), stamped with the file's device,
inode, size, mtime and ctime and pgdr's version. A stamp that differs (the file was edited,
replaced, chmod-ed or chown-ed, or pgdr upgraded) is a miss: the file is validated again, so
the cache never accepts anything the validator would refuse. The file's trust checks
(pgdr.config_trust) run on every call, hit or miss.

The settings are plain dataclasses with the field names of pgdr.config's models, so
pgdr.cli.repo_target builds a target from either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgdr import __version__
from pgdr.config_trust import check_config_file
from pgdr.errors import ConfigError
from pgdr.localfs import atomic_write, private_dir
from pgdr.paths import default_state_dir
from pgdr.secrets import SecretRef

SEARCH_PATH = ("./pgdr.toml", "~/.config/pgdr/pgdr.toml", "/etc/pgdr/pgdr.toml")


def find_config(explicit: str | Path | None) -> Path | None:
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        check_config_file(p, explicit=True)
        return p
    env = os.environ.get("PGDR_CONFIG")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file {p} (from PGDR_CONFIG) does not exist")
        check_config_file(p, explicit=True, source=" (from PGDR_CONFIG)")
        return p
    for candidate in SEARCH_PATH:
        p = Path(candidate).expanduser()
        if p.is_file():
            check_config_file(p, explicit=False)  # refused loudly: never fall through
            return p
    return None


@dataclass(frozen=True)
class LeanS3:
    endpoint: str | None
    region: str | None
    path_style: bool
    access_key_id: SecretRef | None
    secret_access_key: SecretRef | None
    sse_kms_key_id: str | None
    storage_class: str | None
    object_lock_mode: str | None
    object_lock_days: int | None


@dataclass(frozen=True)
class LeanLimits:
    concurrency: int
    retries: int
    connect_timeout_s: float
    read_timeout_s: float
    operation_timeout_s: float


@dataclass(frozen=True)
class LeanRepository:
    url: str
    passphrase: SecretRef | None
    key_file: Path | None
    kms_key_id: str | None
    kms_region: str | None
    kms_endpoint: str | None
    unencrypted: bool
    pack_size_mib: int
    compression_level: int
    s3: LeanS3
    limits: LeanLimits
    replicate_to: list[str] = field(default_factory=list)


SECRETS = ("passphrase", "access_key_id", "secret_access_key")


def _build(cls: Any, doc: dict[str, Any]) -> Any:
    """``cls`` from a validated dump; raises KeyError/TypeError when the dump does not have
    exactly the dataclass's fields (the models changed: a miss, never a partial read)."""
    names = {f.name for f in dataclasses.fields(cls)}
    if set(doc) != names:
        raise KeyError(f"fields differ: {sorted(set(doc) ^ names)}")
    values = dict(doc)
    for k in SECRETS:
        if k in values and values[k] is not None:
            values[k] = SecretRef(values[k])
    if "key_file" in values and values["key_file"] is not None:
        values["key_file"] = Path(values["key_file"])
    if "s3" in values:
        values["s3"] = _build(LeanS3, values["s3"])
        values["limits"] = _build(LeanLimits, values["limits"])
    return cls(**values)


@dataclass(frozen=True)
class LeanConfig:
    source: Path | None
    default_repository: str
    #: LeanRepository, or pgdr.config.RepositorySettings when the lean models fall behind
    repositories: dict[str, Any]
    push_timeout_s: float
    wal_summary_s: float

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Path | None) -> LeanConfig:
        repos = {n: _build(LeanRepository, r) for n, r in doc["repositories"].items()}
        return cls(
            source,
            str(doc["default_repository"]),
            repos,
            float(doc["push_timeout_s"]),
            float(doc["wal_summary_s"]),
        )

    def resolve(self, sel: str | None) -> tuple[str, Any]:
        """Like pgdr.config.resolve_repository: a configured repository by name (a
        LeanRepository, or pgdr.config's model on the fallback), or an ad-hoc URL (validated
        by pgdr.config: its key comes from the environment)."""
        name = sel or self.default_repository
        if "://" in name or name.startswith("/"):
            from pgdr.config import Config, resolve_repository

            return resolve_repository(Config(), name)
        repo = self.repositories.get(name)
        if repo is None:
            raise unknown_repository(name, self.repositories, self.source)
        return name, repo


def key_from_environment() -> dict[str, str]:
    """The operator's key from the environment, for a repository the config names no key
    for (or an ad-hoc --repo URL): ``PGDR_KEY_FILE``, else ``PGDR_PASSPHRASE`` (as a secret
    reference), as repository settings fields."""
    if os.environ.get("PGDR_KEY_FILE"):
        return {"key_file": os.environ["PGDR_KEY_FILE"]}
    if "PGDR_PASSPHRASE" in os.environ:
        return {"passphrase": "env:PGDR_PASSPHRASE"}
    return {}


def unknown_repository(name: str, known: Iterable[str], source: Path | None) -> ConfigError:
    """The error for ``--repo NAME`` (or ``default_repository``) naming no configured
    repository, alike from the validated config and the lean path's cache."""
    names = ", ".join(sorted(known)) or "none configured"
    return ConfigError(
        f"no repository named {name!r} in {source or 'embedded defaults'} "
        f"(known: {names}); pass --repo URL or add [repositories.NAME]"
    )


def dump(config: Any) -> dict[str, Any]:
    """What the lean path needs of a validated ``pgdr.config.Config``, as JSON types."""
    return {
        "default_repository": config.pgdr.default_repository,
        "repositories": {n: r.model_dump(mode="json") for n, r in config.repositories.items()},
        "push_timeout_s": config.wal.push_timeout_s,
        "wal_summary_s": config.audit.wal_summary_s,
    }


def _stamp(path: Path) -> list[Any]:
    st = path.stat()
    return [__version__, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def cache_path(source: Path, state_dir: Path | None = None) -> Path:
    digest = hashlib.sha256(str(source.absolute()).encode()).hexdigest()[:32]
    return (state_dir or default_state_dir()) / "config-cache" / f"{digest}-{os.geteuid()}.json"


def cached(source: Path) -> LeanConfig | None:
    """The validated settings of ``source`` when the cache holds them for the file as it is
    now, else None."""
    try:
        doc = json.loads(cache_path(source).read_text())
        if doc["stamp"] != _stamp(source) or doc["source"] != str(source.absolute()):
            return None
        return LeanConfig.from_doc(doc["config"], source)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(source: Path, stamp: list[Any], config: Any) -> LeanConfig:
    """Cache the validated ``config`` read from ``source`` (``stamp`` taken before it was
    read, so a file changed meanwhile is a miss next time); a cache that cannot be written
    is no error. Returns the lean settings."""
    doc = dump(config)
    try:
        lean = LeanConfig.from_doc(doc, source)
    except (KeyError, TypeError):  # the models gained a field the lean ones lack: use them
        return LeanConfig(
            source,
            doc["default_repository"],
            dict(config.repositories),
            doc["push_timeout_s"],
            doc["wal_summary_s"],
        )
    entry = {"source": str(source.absolute()), "stamp": stamp, "config": doc}
    try:
        path = cache_path(source)
        private_dir(path.parent)
        atomic_write(path, json.dumps(entry).encode())
    except OSError:
        pass
    return lean


def load_lean(explicit: str | Path | None) -> LeanConfig:
    """The config for the lean path: from the cache, else validated by pgdr.config (and
    cached). With no config file, the embedded defaults."""
    source = find_config(explicit)
    if source is not None:
        hit = cached(source)
        if hit is not None:
            return hit
    from pgdr.config import load_config  # pydantic: only on a miss

    stamp = _stamp(source) if source is not None else []
    config = load_config(source)
    if source is None:
        doc = dump(config)  # the embedded defaults: no repositories
        return LeanConfig(
            None, doc["default_repository"], {}, doc["push_timeout_s"], doc["wal_summary_s"]
        )
    return remember(source, stamp, config)
