"""`pgdr serve` (the daemon) and `pgdr status` (the same picture, once, in the terminal)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit
from pgdr.cli.pg_options import conninfo
from pgdr.cli.repo_open import open_repository


def _deps(cli: CliContext) -> object:
    from pgdr.daemon.service import DaemonDeps

    cfg = cli.config
    target = cli.target()
    return DaemonDeps(
        open_repo=lambda: open_repository(target),
        repo_url=target.url,
        conninfo=conninfo(cli, None, None, None, None),
        data_dir=cfg.postgres.data_dir,
        schedule=cfg.schedule,
        alerts=cfg.alerts,
        daemon=cfg.daemon,
    )


def serve(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option(help="Dashboard host:port (default [web] listen).")
    ] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Run without the dashboard.")] = False,
) -> None:
    """Run the daemon: scheduled jobs, alerts, Prometheus metrics and the dashboard."""
    from pgdr.daemon.service import Daemon, DaemonDeps
    from pgdr.web.app import create_app
    from pgdr.web.auth import Credentials, ensure_token
    from pgdr.web.server import WebServer

    cli = get_context(ctx)
    if not cli.quiet:
        logging.getLogger("pgdr.daemon").setLevel(logging.INFO)
    deps = _deps(cli)
    assert isinstance(deps, DaemonDeps)
    daemon = Daemon(deps)
    web = cli.config.web
    services = []
    if web.enabled and not no_web:
        creds = Credentials(
            token=web.token.resolve() if web.token else None,
            username=web.username,
            password=web.password.resolve() if web.password else None,
        )
        if creds.token is None and creds.password is None:
            path = daemon.state_dir / "web-token"
            creds = Credentials(token=ensure_token(path))
            logging.getLogger("pgdr.daemon").warning("dashboard token: see %s", path)
        app = create_app(daemon, creds, metrics_public=web.metrics_public)
        services.append(WebServer(app, listen or web.listen))
    raise typer.Exit(daemon.run(services))


def status(ctx: typer.Context) -> None:
    """Protection status now: backups, PITR window, WAL, jobs, alerts. Exit 91 when a
    warning alert fires, 92 when a critical one does."""
    from pgdr.daemon.service import DaemonDeps, current_status
    from pgdr.errors import AlertsFiring, CriticalAlertsFiring

    cli = get_context(ctx)
    deps = _deps(cli)
    assert isinstance(deps, DaemonDeps)
    report = current_status(deps)
    emit(cli, report)
    firing = [a for a in report.alerts if a["state"] == "firing"]
    if not firing:
        return
    names = ", ".join(f"{a['name']} ({a['severity']})" for a in firing)
    msg = f"{len(firing)} alert(s) firing: {names}"
    if report.worst == "critical":
        raise CriticalAlertsFiring(msg)
    raise AlertsFiring(msg)
