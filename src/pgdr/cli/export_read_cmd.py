"""`pgdr export lifecycle plan|apply|check`, `pgdr export ddl`, `pgdr export restore`: reading
exports back (registered in pgdr.cli.main under the `export` group)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit, fail_after_result
from pgdr.errors import UsageError
from pgdr.export.lifecycle import ExportLifecycle

lifecycle_app = typer.Typer(
    help="S3 lifecycle tiers of the exports prefix: plan, apply, check for drift.",
    no_args_is_help=True,
)

Url = Annotated[
    str | None,
    typer.Option("--url", metavar="URL", help="The exports target (default: [exports] url)."),
]


def exports_target(cli: CliContext, url: str | None) -> tuple[str, ExportLifecycle]:
    """The exports URL (``--url``, else ``[exports] url``) and ``[exports.lifecycle]``."""
    section: Any = getattr(cli.config, "exports", None)
    lc = getattr(section, "lifecycle", None)
    lifecycle = lc if isinstance(lc, ExportLifecycle) else ExportLifecycle()
    chosen = url or getattr(section, "url", None)
    if not chosen:
        raise UsageError("no exports target: set [exports] url in the config or pass --url")
    return str(chosen), lifecycle


def _run(ctx: typer.Context, url: str | None, action: str) -> None:
    from pgdr.export import tiers

    cli = get_context(ctx)
    target, lifecycle = exports_target(cli, url)
    step = {
        "plan": tiers.lifecycle_plan,
        "apply": tiers.lifecycle_apply,
        "check": tiers.lifecycle_check,
    }[action]
    report = step(target, lifecycle)
    emit(cli, report)
    err = tiers.refusal(report)
    if err is not None:
        fail_after_result(cli, err)


@lifecycle_app.command("plan")
def lifecycle_plan(ctx: typer.Context, url: Url = None) -> None:
    """Print the lifecycle rule for the exports prefix and check it against S3's rules.

    Transitions, expiry and the abort of unfinished multipart uploads come from
    [exports.lifecycle]. A plan S3 would refuse exits 110 naming the rule; rules that only
    cost early-deletion fees are warnings. On file:// tiers do not apply and it says so."""
    _run(ctx, url, "plan")


@lifecycle_app.command("apply")
def lifecycle_apply(ctx: typer.Context, url: Url = None) -> None:
    """Set the planned rule on the exports bucket, keeping the bucket's other rules.

    Refuses an invalid plan (exit 110) without touching the bucket."""
    _run(ctx, url, "apply")


@lifecycle_app.command("check")
def lifecycle_check(ctx: typer.Context, url: Url = None) -> None:
    """Compare the bucket's lifecycle rules with the plan; exit 111 on drift."""
    _run(ctx, url, "check")
