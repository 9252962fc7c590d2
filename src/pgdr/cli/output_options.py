"""`--json` and `--output text|json`: one pair of options, accepted before the command
(`pgdr --json info`) and after it (`pgdr info --json`, `pgdr repo info --output json`).

Both spellings set the one output format of the invocation (``CliContext.json``); asking for
two different formats is a usage error (exit 2). `pgdr.cli.command_tree` adds the pair to
every command that prints a result, so no command declares them itself.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Annotated

import typer

from pgdr.cli.context import get_context
from pgdr.errors import UsageError


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _choose(ctx: typer.Context, fmt: OutputFormat, spelled: str) -> None:
    cli = get_context(ctx)
    if cli.output_spelled is not None and cli.json != (fmt is OutputFormat.json):
        raise UsageError(f"{spelled} conflicts with {cli.output_spelled}: choose one format")
    cli.json = fmt is OutputFormat.json
    cli.output_spelled = spelled


def _json_flag(ctx: typer.Context, value: bool) -> None:
    if value:
        _choose(ctx, OutputFormat.json, "--json")


def _output_option(ctx: typer.Context, value: OutputFormat | None) -> None:
    if value is not None:
        _choose(ctx, value, f"--output {value.value}")


JsonFlag = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Machine-readable output (same as --output json).",
        callback=_json_flag,
        expose_value=False,
    ),
]
OutputOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        help="Output format: text (default) or json.",
        callback=_output_option,
        expose_value=False,
        show_default=False,
    ),
]


def _carrier(json_out: JsonFlag = False, output: OutputOption = None) -> None:
    """Holds the two options so Typer builds them; never invoked."""


@cache
def output_params() -> tuple[typer.core.TyperOption, ...]:
    """The `--json` and `--output` parameters; one pair serves every command (a parameter
    keeps its values in the invocation's context, not in itself)."""
    carrier = typer.Typer(add_completion=False)
    carrier.command()(_carrier)
    params = typer.main.get_command(carrier).params
    return tuple(p for p in params if isinstance(p, typer.core.TyperOption) and p.name != "help")


def json_requested(argv: list[str]) -> bool:
    """Whether the arguments ask for JSON, so an error before any option callback ran (or
    raised by one) is reported as JSON too."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg in ("--json", "--output=json"):
            return True
        if arg == "--output" and argv[i + 1 : i + 2] == ["json"]:
            return True
    return False
