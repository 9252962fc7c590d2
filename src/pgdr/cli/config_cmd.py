"""`pgdr config show | check | path`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.syntax import Syntax

from pgdr.cli.context import get_context
from pgdr.cli.output import emit
from pgdr.config import Config, find_config
from pgdr.errors import ConfigError

app = typer.Typer(help="Show and check the configuration.", no_args_is_help=True)


@dataclass
class ConfigView:
    source: str
    config: dict[str, Any]

    def render_text(self, console: Console) -> None:
        import json

        console.print(f"# from {self.source}; secrets are shown as their references only")
        console.print(Syntax(json.dumps(self.config, indent=2), "json", theme="ansi_dark"))


def _view(cfg: Config) -> ConfigView:
    """The effective configuration: the sections validated where they are used
    (``[schedule]``, ``[alerts]``, ``[daemon]``, ``[web]``, ``[drill]``) with their defaults
    filled in, not the raw (often empty) tables. ``[notifications.*]`` stay as written."""
    from pgdr.config_rds import rds_settings
    from pgdr.daemon.settings import daemon_sections
    from pgdr.drill.settings import drill_settings

    data = cfg.model_dump(mode="json")
    sections = daemon_sections(cfg)
    for name in ("schedule", "alerts", "daemon", "web"):
        data[name] = getattr(sections, name).model_dump(mode="json")
    data["drill"] = drill_settings(cfg).model_dump(mode="json")
    rds = rds_settings(cfg)
    if rds is not None:
        data["rds"] = rds.model_dump(mode="json")
    return ConfigView(str(cfg.source or "(embedded defaults)"), data)


@app.command()
def show(ctx: typer.Context) -> None:
    """Print the effective configuration (secrets redacted to their references)."""
    cli = get_context(ctx)
    emit(cli, _view(cli.config))


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate the file and check that every secret reference resolves."""
    from pgdr.config_rds import rds_settings
    from pgdr.daemon.settings import daemon_sections
    from pgdr.drill.settings import drill_settings
    from pgdr.notify.settings import notification_settings

    cli = get_context(ctx)
    cfg = cli.config
    drill_settings(cfg)  # the sections validated where they are used: check them here too
    rds = rds_settings(cfg)
    web = daemon_sections(cfg).web
    channels = notification_settings(cfg)
    problems = []
    for name, repo in cfg.repositories.items():
        for key, ref in (
            ("passphrase", repo.passphrase),
            ("s3.access_key_id", repo.s3.access_key_id),
            ("s3.secret_access_key", repo.s3.secret_access_key),
        ):
            if ref is not None and (why := ref.resolvable()):
                problems.append(f"repositories.{name}.{key}: {why}")
        if repo.key_file is not None and not repo.key_file.is_file():
            problems.append(f"repositories.{name}.key_file: {repo.key_file} does not exist")
    bin_dir = cfg.postgres.bin_dir
    if bin_dir is not None and not bin_dir.is_dir():
        problems.append(f"postgres.bin_dir: {bin_dir} does not exist")
    elif bin_dir is not None and not (bin_dir / "postgres").is_file():
        problems.append(f"postgres.bin_dir: {bin_dir} has no 'postgres' binary")
    warnings = []  # a notification that cannot be sent costs no backup: warn only
    for name, ch in channels.items():
        for key in ("url", "webhook_url", "routing_key", "password"):
            ref = getattr(ch, key, None)
            if ref is not None and (why := ref.resolvable()):
                warnings.append(f"notifications.{name}.{key}: {why}")
    rds_password = rds.drill.password if rds is not None else None
    if rds_password is not None and (why := rds_password.resolvable()):  # an RDS drill's
        warnings.append(f"rds.drill.password: {why}")
    for key, ref in (("token", web.token), ("password", web.password)):
        if ref is not None and (why := ref.resolvable()):  # only `pgdr serve` needs them
            warnings.append(f"web.{key}: {why}")
    for w in warnings:
        cli.err.print(f"pgdr: warning: {w}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{cfg.source}: {problems[0]}{more}")
    emit(
        cli,
        {
            "source": str(cfg.source or "(embedded defaults)"),
            "ok": True,
            "repositories": sorted(cfg.repositories),
            "notifications": sorted(channels),
            "warnings": warnings,
        },
    )


@app.command()
def path(ctx: typer.Context) -> None:
    """Print which config file is used."""
    cli = get_context(ctx)
    p = find_config(cli.config_path)
    emit(cli, {"path": str(p) if p else None})
