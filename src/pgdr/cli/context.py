"""Per-invocation CLI state: global options, the lazily loaded config, consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from pgdr.cli.repo_open import RepoTarget
from pgdr.config import Config, RepositorySettings, load_config, resolve_repository
from pgdr.storage import StorageOptions


@dataclass
class CliContext:
    config_path: Path | None = None
    repo: str | None = None
    json: bool = False
    verbosity: int = 0
    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(soft_wrap=True))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def show_progress(self) -> bool:
        return not self.quiet and not self.json and sys.stderr.isatty()

    def repo_settings(self) -> tuple[str, RepositorySettings]:
        return resolve_repository(self.config, self.repo)

    def target(self, *, unencrypted: bool = False) -> RepoTarget:
        _name, s = self.repo_settings()
        return target_from_settings(s, unencrypted=unencrypted)


def target_from_settings(s: RepositorySettings, *, unencrypted: bool = False) -> RepoTarget:
    storage = StorageOptions(
        endpoint=s.s3.endpoint,
        region=s.s3.region,
        path_style=s.s3.path_style,
        access_key_id=s.s3.access_key_id.resolve() if s.s3.access_key_id else None,
        secret_access_key=s.s3.secret_access_key.resolve() if s.s3.secret_access_key else None,
        sse_kms_key_id=s.s3.sse_kms_key_id,
        storage_class=s.s3.storage_class,
        object_lock_mode=s.s3.object_lock_mode,
        object_lock_days=s.s3.object_lock_days,
        connect_timeout=s.limits.connect_timeout_s,
        read_timeout=s.limits.read_timeout_s,
        retries=s.limits.retries,
        concurrency=s.limits.concurrency,
    )
    return RepoTarget(
        url=s.url,
        storage=storage,
        passphrase=s.passphrase.resolve() if s.passphrase else None,
        key_file=s.key_file,
        kms_key_id=s.kms_key_id,
        kms_region=s.kms_region,
        kms_endpoint=s.kms_endpoint,
        pack_size=s.pack_size_mib << 20,
        compression_level=s.compression_level,
        unencrypted=s.unencrypted or unencrypted,
    )


def get_context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj
