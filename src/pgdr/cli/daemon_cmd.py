"""`pgdr serve` (the daemon) and `pgdr status` (the same picture, once, in the terminal)."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit, fail_after_result
from pgdr.cli.pg_options import conninfo
from pgdr.cli.repo_target import open_repository
from pgdr.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pgdr.daemon.jobs import AfterBackup
    from pgdr.daemon.service import DaemonDeps


def _deps(cli: CliContext, *, serving: bool = False) -> DaemonDeps:
    from pgdr.daemon.service import DaemonDeps
    from pgdr.daemon.settings import daemon_sections

    cfg = cli.config
    sections = daemon_sections(cfg)
    target = cli.target()
    deps = DaemonDeps(
        open_repo=lambda: open_repository(target),
        repo_url=target.url,
        conninfo=conninfo(cli, None, None, None, None),
        data_dir=cfg.postgres.data_dir,
        schedule=sections.schedule,
        alerts=sections.alerts,
        daemon=sections.daemon,
        web=sections.web,
    )
    deps.rds = _rds_facts(cli)
    deps.exports = _export_watch(cli, sections.schedule)
    _name, settings = cli.repo_settings()
    if settings.replicate_to:
        from pgdr.cli.repo_target import replica_links

        deps.replicas = replica_links(cfg, list(settings.replicate_to))
    if serving:
        from psycopg.conninfo import make_conninfo

        from pgdr.daemon.events import make_deliver
        from pgdr.daemon.jobs import DrillDeps, ExpireDeps, JobDeps
        from pgdr.drill.engine import DrillEnv
        from pgdr.drill.settings import drill_settings
        from pgdr.notify.base import build_notifiers
        from pgdr.notify.settings import notification_settings

        drill = drill_settings(cfg)
        channels = notification_settings(cfg)
        for name, names in (("alerts", sections.alerts.notify), ("drill", drill.notify)):
            unknown = sorted(set(names or []) - set(channels))
            if unknown:
                raise ConfigError(f"[{name}] notify names unknown channel(s): {', '.join(unknown)}")
        notifiers = build_notifiers(channels)
        if notifiers:
            deps.deliver = make_deliver(notifiers, sections.alerts.notify)
        pg = cfg.postgres
        from pgdr.repo.gc import GcOptions
        from pgdr.retention.policy import Policy

        r = cfg.retention
        after_backup: AfterBackup | None = None
        if settings.replicate_to:  # a scheduled backup is followed into the replicas too
            from pgdr.cli.replica_actions import follow_backup

            after_backup = partial(follow_backup, cli)

        env = DrillEnv(
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
        deps.jobs = JobDeps(
            expire=ExpireDeps(
                Policy(r.window, r.keep_full, r.keep_incremental),
                GcOptions(repack_threshold=r.repack_threshold),
            ),
            expire_after_backup=sections.schedule.expire_after_backup,
            after_backup=after_backup,
            drill=DrillDeps(drill, env, _rds_drills(cli, env, drill)),
            export=_export_deps(cli, drill),
            rds=_rds_jobs(cli),
        )
    return deps


def _export_watch(cli: CliContext, schedule: Any) -> Any:
    """The [exports] target watched for metrics, alerts and the dashboard (its newest
    complete export's manifest), late against [schedule] export (in RDS mode with that off:
    [schedule] rds_export). In RDS mode without [exports] url: where `pgdr rds export`
    writes ([rds.exports] bucket and prefix, reached as the RDS commands reach AWS), late
    against [schedule] rds_export. Neither: the collector says so."""
    from pgdr.daemon.collect_exports import ExportCollector
    from pgdr.export.settings import export_section
    from pgdr.export.target import open_target

    settings = export_section(cli.config)
    if settings.url:
        # [exports] url where RDS exports land too (RdsExports' advice): late against
        # whichever export is scheduled, pgdr's own first
        from pgdr.daemon.cron import Schedule

        every = schedule.export
        if cli.config.rds and Schedule.parse(schedule.export).off:
            every = schedule.rds_export
        return ExportCollector(lambda: open_target(settings), every)
    if cli.config.rds:
        from pgdr.config import S3Settings
        from pgdr.config_rds import require_rds
        from pgdr.export.settings import ExportSettings

        rds = require_rds(cli.config)
        if rds.exports.bucket:
            where = ExportSettings(
                url=f"s3://{rds.exports.bucket}",
                prefix=rds.exports.prefix,
                s3=S3Settings(
                    endpoint=rds.endpoint_url,
                    region=rds.region,
                    path_style=rds.endpoint_url is not None,  # a local endpoint has no DNS
                ),
            )
            return ExportCollector(lambda: open_target(where), schedule.rds_export)
    return ExportCollector(None, schedule.export)


def _export_deps(cli: CliContext, drill: Any) -> Any:
    """The export job's settings when [exports] url is configured (else the job refuses)."""
    from pgdr.daemon.export_job import ExportDeps
    from pgdr.export.settings import export_section

    settings = export_section(cli.config)
    if not settings.url:
        return None
    pg = cli.config.postgres
    return ExportDeps(
        settings, drill, settings.databases or [pg.dbname], superuser=pg.user, bindir=pg.bin_dir
    )


def _rds_facts(cli: CliContext) -> Any:
    """RDS mode: the [rds] instance's PITR state for alerts and metrics (else None)."""
    if not cli.config.rds:
        return None
    from pgdr.config_rds import require_rds
    from pgdr.daemon.collect_rds import collect_rds
    from pgdr.rds.client import Aws

    s = require_rds(cli.config)
    aws = Aws(endpoint_url=s.endpoint_url)

    def describe() -> dict[str, Any]:
        got = aws.rds(s.region, "DescribeDBInstances", DBInstanceIdentifier=s.instance)
        return dict(got["DBInstances"][0])

    return lambda: collect_rds(describe, s.instance, s.policy.retention_days)


def _rds_jobs(cli: CliContext) -> Any:
    """The rds_snapshot and rds_export jobs' [rds] settings when configured (else they
    refuse, naming the section); a fresh AWS client per job."""
    if not cli.config.rds:
        return None
    from pgdr.config_rds import require_rds
    from pgdr.daemon.jobs import RdsJobDeps
    from pgdr.rds.client import Aws

    s = require_rds(cli.config)
    return RdsJobDeps(s, lambda: Aws(endpoint_url=s.endpoint_url))


def _rds_drills(cli: CliContext, env: Any, drill: Any) -> Any:
    """The rds_drill job's provider factory when [rds] is configured (else the job refuses)."""
    if not cli.config.rds:
        return None
    from pgdr.cli.rds_drill import rds_provider

    return lambda: rds_provider(cli, "latest", None, env, drill)


def serve(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option(help="Dashboard host:port (default [web] listen).")
    ] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Run without the dashboard.")] = False,
) -> None:
    """Run the daemon: scheduled jobs, alerts, Prometheus metrics and the dashboard."""
    from pgdr.daemon.service import Daemon
    from pgdr.daemon.settings import WebSettings
    from pgdr.web.app import create_app
    from pgdr.web.auth import Credentials, ensure_token
    from pgdr.web.guard import default_hosts
    from pgdr.web.server import WebServer, parse_listen

    cli = get_context(ctx)
    if not cli.quiet:
        logging.getLogger("pgdr.daemon").setLevel(logging.INFO)
    deps = _deps(cli, serving=True)
    web = deps.web
    creds = None
    if web.enabled and not no_web:
        # secrets and the address are checked before the state directory is touched
        creds = Credentials(
            token=web.token.resolve() if web.token else None,
            username=web.username,
            password=web.password.resolve() if web.password else None,
        )
        if listen is not None:
            try:
                WebSettings(listen=listen)
            except ValueError:
                raise UsageError(f"--listen {listen!r}: expected host:port") from None
    daemon = Daemon(deps)
    services = []
    if creds is not None:
        if creds.token is None and creds.password is None:
            path = daemon.state_dir / "web-token"
            creds = Credentials(token=ensure_token(path))
            logging.getLogger("pgdr.daemon").info("dashboard token: see %s", path)
        address = listen or web.listen
        hosts = default_hosts(parse_listen(address)[0], web.allowed_hosts)
        app = create_app(daemon, creds, metrics_public=web.metrics_public, hosts=hosts)
        services.append(WebServer(app, address))
    raise typer.Exit(daemon.run(services))


def status(ctx: typer.Context) -> None:
    """Show the protection status now: backups, PITR window, WAL, jobs and alerts.

    Exits 91 when a warning alert fires, 92 when a critical one does."""
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
    fail_after_result(
        cli, CriticalAlertsFiring(msg) if report.worst == "critical" else AlertsFiring(msg)
    )
