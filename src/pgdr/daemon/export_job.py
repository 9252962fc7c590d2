"""The ``export`` job: what `pgdr export run` does with the ``[exports]`` settings — the latest
backup restored into a drill-style sandbox, every configured table written as Parquet with
its manifest — then the 7-year rule applied to the target (docs/design.md §8h, §8j)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgdr.errors import PgdrError

if TYPE_CHECKING:
    from pgdr.daemon.jobs import JobContext
    from pgdr.drill.settings import DrillSettings
    from pgdr.export.settings import ExportSettings


@dataclass(frozen=True)
class ExportDeps:
    """What the export job needs: ``[exports]`` (with a url), ``[drill]``'s sandbox settings
    and how the sandbox's PostgreSQL is run."""

    settings: ExportSettings
    drill: DrillSettings
    databases: list[str]
    superuser: str = "postgres"
    bindir: Path | None = None


def run_export_job(ctx: JobContext, deps: ExportDeps) -> dict[str, Any]:
    from pgdr import audit
    from pgdr.export.run import ExportRequest, run_export
    from pgdr.export.sandbox_source import restored_backup
    from pgdr.export.target import open_target
    from pgdr.export.writer import PartLimits

    s = deps.settings
    req = ExportRequest(
        databases=deps.databases,
        tables=list(s.tables),
        exclude=list(s.exclude),
        jobs=s.jobs,
        limits=PartLimits(s.part_size_mib << 20, s.row_group_rows, s.compression_level),
    )
    t0 = time.monotonic()
    target = open_target(s)
    try:
        repo = ctx.open_repo()
        try:
            with restored_backup(
                repo, "latest", "latest", deps.drill, superuser=deps.superuser, bindir=deps.bindir
            ) as (conninfo, info):
                manifest = run_export(target, conninfo, info, req)
            audit.record(repo, "export", manifest.audit_details(target.url))
        finally:
            repo.close()
        out: dict[str, Any] = {
            "export_id": manifest.export_id,
            "url": target.url,
            "source_backup": manifest.source.backup_id,
            "snapshot_time": manifest.snapshot_time.isoformat(),
            "tables": [
                {"database": t.database, "table": t.qualified, "rows": t.rows, "bytes": t.bytes}
                for t in manifest.tables
            ],
            "rows": manifest.total_rows,
            "bytes": manifest.total_bytes,
            "seconds": round(time.monotonic() - t0, 3),
        }
    finally:
        target.close()
    out["expire"] = expire_after_export(ctx, s)
    return out


def expire_after_export(ctx: JobContext, settings: ExportSettings) -> dict[str, Any]:
    """The 7-year rule on the target right after an export. The export stands whatever
    happens here: a failure is recorded in the job's result, the next run tries again."""
    try:
        return expire_target(ctx, settings)
    except PgdrError as e:
        return {"error": e.message, "kind": e.kind}


def expire_target(ctx: JobContext, settings: ExportSettings) -> dict[str, Any]:
    from datetime import UTC, datetime

    from pgdr import audit
    from pgdr.export.expire import bucket_protection, expire_exports
    from pgdr.export.target import open_target
    from pgdr.export.tiers import lifecycle_settings

    now = datetime.now(UTC)
    keep_days = lifecycle_settings(settings).expire_days
    target = open_target(settings)
    protection, close = bucket_protection(settings, now)
    try:
        res = expire_exports(target, keep_days, now=now, protection=protection)
    finally:
        close()
        target.close()
    if res.deleted or res.refused:
        entry = res.audit_entry()
        action = str(entry.pop("action"))
        ctx.using_repo(lambda repo: audit.record(repo, action, entry))
    return {
        "deleted": res.deleted,
        "refused": res.refused,
        "deleted_objects": res.deleted_objects,
        "deleted_bytes": res.deleted_bytes,
        "kept": sum(1 for v in res.verdicts if not v["delete"]),
    }
