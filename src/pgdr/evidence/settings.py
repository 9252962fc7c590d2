"""The ``[runbook]`` and ``[costs]`` sections: where the runbook restores, and the price table
of the cost report (no shipped prices: a figure without a configured price is "no price")."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from pgdr.config import Config, section
from pgdr.settings_types import STRICT


class RunbookSettings(BaseModel):
    model_config = STRICT

    #: Parent of the new data directories the recovery scenarios restore into (one per
    #: scenario, so a runbook run never writes over production's data directory).
    restore_root: str = "/var/lib/pgdr/restore"
    #: Port of a restored server that replaces production (default: production's port).
    restore_port: int | None = Field(default=None, ge=1, le=65535)
    #: Port of the side server of the accidental-deletion scenario (default: port + 1).
    side_port: int | None = Field(default=None, ge=1, le=65535)
    #: Tables the accidental-deletion scenario recovers (default: [drill] critical tables).
    tables: list[str] = []
    #: Database those tables live in (default: the [drill] database, else [postgres] dbname).
    database: str | None = None
    #: Evidence older than this is flagged in the runbook and fails the drill control.
    max_evidence_age_days: float = Field(default=8.0, gt=0, le=3650)
    #: How many recent drills the runbook's median and worst figures cover.
    last_n: int = Field(default=10, ge=1, le=1000)
    #: Where the application is rolled back (outside pgdr); the runbook links it.
    application_runbook: str = ""


class CostSettings(BaseModel):
    model_config = STRICT

    currency: str = "USD"
    #: When the prices below were read from the provider's price list (shown with them).
    prices_as_of: str = ""
    #: $ per GB-month by storage class: S3 classes by their API name (STANDARD, STANDARD_IA,
    #: GLACIER_IR, GLACIER, DEEP_ARCHIVE, ...); ``local`` for file:// repositories.
    per_gb_month: dict[str, float] = {}


def runbook_settings(config: Config) -> RunbookSettings:
    return section(config, "runbook", RunbookSettings)  # type: ignore[no-any-return]


def cost_settings(config: Config) -> CostSettings:
    return section(config, "costs", CostSettings)  # type: ignore[no-any-return]


def config_path(config: Config) -> str:
    """Absolute: the runbook's commands must work from any directory."""
    return str(Path(config.source).absolute()) if config.source else ""


def default_restore_dir(root: str, scenario: str) -> str:
    return str(Path(root) / scenario)
