"""Helpers for RDS drill tests: run one RDS drill in-process against moto's RDS API, with the drill instance's endpoint mapped to a local
cluster by the test seam (PGDR_TEST_RDS_ENDPOINT_MAP)."""

from __future__ import annotations

import functools
from typing import Any

from psycopg.conninfo import make_conninfo

from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.rds_provider import RdsCall, RdsDrillTarget, RdsProvider
from pgdr.drill.record import DrillRecord
from pgdr.drill.settings import DrillSettings
from pgdr.rds.client import Aws
from tests.fixtures.moto_recording import own_client
from tests.fixtures.moto_server import REGION
from tests.fixtures.restore import open_repo

SOURCE = "recalls-prod"


def rds_api(url: str) -> Any:
    """A boto3 client for what the test itself asks moto (not counted as pgdr's calls)."""
    return own_client("rds", url)


def rds_call(url: str) -> RdsCall:
    """What pgdr calls RDS through: pgdr.rds.client, as the CLI wires it."""
    return functools.partial(Aws(endpoint_url=url).rds, REGION)


def rds_provider(
    url: str,
    env: DrillEnv,
    settings: DrillSettings,
    target: str = "latest",
    seed: int | None = None,
) -> RdsProvider:
    return RdsProvider(
        rds_call(url),
        RdsDrillTarget(source=SOURCE, password=lambda: "drill-password", poll_s=0.1),
        target,
        seed,
        env.production,
        settings.amcheck,
        settings.start_timeout_s,
    )


def drill_env(production: str) -> DrillEnv:
    """``production``: the source's conninfo."""
    return DrillEnv(production=lambda db: make_conninfo(production, dbname=db))


def rds_drill(
    setup: dict[str, Any],
    url: str,
    production: str,
    state_dir: str,
    **request: Any,
) -> DrillRecord:
    settings = DrillSettings(state_dir=state_dir)
    req = DrillRequest(**request)
    env = drill_env(production)
    provider = rds_provider(url, env, settings, req.target, req.seed)
    return run_drill(open_repo(setup), settings, req, env, provider)
