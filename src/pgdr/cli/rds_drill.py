"""Wiring of drills for the CLI and the daemon: production's conninfo from [postgres], and
the RDS instance provider from [rds] (docs/design.md §8d, "RDS drills")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgdr.cli.context import CliContext


def production(cli: CliContext, password: Callable[[], str] | None = None) -> Callable[[str], str]:
    """database -> conninfo of production ([postgres]), with ``password`` when given."""
    from psycopg.conninfo import make_conninfo

    pg = cli.config.postgres

    def conninfo(dbname: str) -> str:
        extra = {"password": password()} if password is not None else {}
        return make_conninfo(
            host=pg.host,
            port=str(pg.port),
            user=pg.user,
            dbname=dbname,
            application_name="pgdr drill",
            **extra,
        )

    return conninfo


def rds_provider(cli: CliContext, target: str, seed: int | None, env: Any, settings: Any) -> Any:
    """The RDS instance provider from [rds] (docs/design.md §8d, "RDS drills"). The source is
    reached through [postgres]; when [postgres] user is [rds.drill] user (the master user),
    the drill's password logs in there too (the restored instance has the source's)."""
    import functools

    from pgdr.config_rds import require_rds
    from pgdr.drill.rds_provider import RdsDrillTarget, RdsProvider
    from pgdr.rds.client import Aws
    from pgdr.rds.credentials import drill_password

    s = require_rds(cli.config)
    aws = Aws(endpoint_url=s.endpoint_url)
    cache: list[str] = []

    def password() -> str:
        if not cache:
            cache.append(drill_password(aws, s))
        return cache[0]

    if cli.config.postgres.user == s.drill.user:
        env.production = production(cli, password)
    rds_target = RdsDrillTarget(
        source=s.instance,
        instance_class=s.drill.instance_class,
        subnet_group=s.drill.subnet_group,
        security_groups=list(s.drill.security_groups),
        tags=dict(s.drill.tags),
        user=s.drill.user,
        dbname=s.drill.dbname,
        password=password,
    )
    return RdsProvider(
        functools.partial(aws.rds, s.region),
        rds_target,
        target,
        seed,
        env.production,
        settings.amcheck,
        settings.start_timeout_s,
        env.say,
    )
