"""Per-invocation CLI state: global options, the lazily loaded config, consoles."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from pgdr.cli.repo_target import RepoTarget, target_from_settings, with_key_file
from pgdr.config import Config, RepositorySettings, load_config, resolve_repository


@dataclass
class CliContext:
    config_path: Path | None = None
    repo: str | None = None
    #: ``--key-file``: open the selected repository with this key file instead of its
    #: configured key (the server key `pgdr setup --apply` writes)
    key_file: Path | None = None
    json: bool = False
    #: how the output format was asked for (``--json``, ``--output text``), to name a conflict
    output_spelled: str | None = None
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
        s = with_key_file(s, self.key_file)
        return target_from_settings(s, unencrypted=unencrypted, retention=self.config.retention)


def get_context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
    return root.obj
