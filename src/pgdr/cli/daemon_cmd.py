"""`pgdr serve` (the daemon) and `pgdr status` (the same picture, once, in the terminal)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer
from psycopg.conninfo import make_conninfo

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit
from pgdr.cli.pg_options import conninfo
from pgdr.cli.repo_open import open_repository
from pgdr.errors import ConfigError

if TYPE_CHECKING:
    from pgdr.daemon.service import DaemonDeps


def _deps(cli: CliContext, *, serving: bool = False) -> DaemonDeps:
    from pgdr.daemon.service import DaemonDeps

    cfg = cli.config
    target = cli.target()
    deps = DaemonDeps(
        open_repo=lambda: open_repository(target),
        repo_url=target.url,
        conninfo=conninfo(cli, None, None, None, None),
        data_dir=cfg.postgres.data_dir,
        schedule=cfg.schedule,
        alerts=cfg.alerts,
        daemon=cfg.daemon,
    )
    if serving:
        from pgdr.daemon.events import make_deliver
        from pgdr.drill.engine import DrillEnv
        from pgdr.notify.base import build_notifiers
        from pgdr.restore.run import default_restore_command

        for section, names in (("alerts", cfg.alerts.notify), ("drill", cfg.drill.notify)):
            unknown = sorted(set(names or []) - set(cfg.notifications))
            if unknown:
                raise ConfigError(
                    f"[{section}] notify names unknown channel(s): {', '.join(unknown)}"
                )
        notifiers = build_notifiers(cfg.notifications)
        if notifiers:
            deps.deliver = make_deliver(notifiers, cfg.alerts.notify)
        pg = cfg.postgres
        deps.extras["drill_settings"] = cfg.drill
        deps.extras["drill_env"] = DrillEnv(
            restore_command=default_restore_command(cfg.source, cli.repo),
            production=lambda db: make_conninfo(
                host=pg.host,
                port=str(pg.port),
                user=pg.user,
                dbname=db,
                application_name="pgdr drill",
            ),
            notifiers=notifiers,
            superuser=pg.user,
            default_database=pg.dbname,
            bindir=pg.bin_dir,
        )
    return deps


def serve(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option(help="Dashboard host:port (default [web] listen).")
    ] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Run without the dashboard.")] = False,
) -> None:
    """Run the daemon: scheduled jobs, alerts, Prometheus metrics and the dashboard."""
    from pgdr.daemon.service import Daemon
    from pgdr.web.app import create_app
    from pgdr.web.auth import Credentials, ensure_token
    from pgdr.web.server import WebServer

    cli = get_context(ctx)
    if not cli.quiet:
        logging.getLogger("pgdr.daemon").setLevel(logging.INFO)
    daemon = Daemon(_deps(cli, serving=True))
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
    from pgdr.daemon.service import current_status
    from pgdr.errors import AlertsFiring, CriticalAlertsFiring

    cli = get_context(ctx)
    report = current_status(_deps(cli))
    emit(cli, report)
    firing = [a for a in report.alerts if a["state"] == "firing"]
    if not firing:
        return
    names = ", ".join(f"{a['name']} ({a['severity']})" for a in firing)
    msg = f"{len(firing)} alert(s) firing: {names}"
    if report.worst == "critical":
        raise CriticalAlertsFiring(msg)
    raise AlertsFiring(msg)
