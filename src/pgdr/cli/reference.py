"""docs/cli.md is generated from the command tree (``python -m pgdr.cli.reference``) and a
test checks that it is current, so the reference never drifts from ``--help``."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import typer

from pgdr.cli.command_tree import build_command
from pgdr.cli.main import app

DEVELOPER_NOTE = (
    "Developer commands, left out of `pgdr --help`: tools for pgdr's own tests and for "
    "inspecting a repository by hand, not for operating backups.\n"
)


def _walk(cmd: Any, path: list[str], out: list[str], *, hidden: bool = False) -> None:
    name = " ".join(path)
    if path:
        out.append(f"{'#' * min(len(path) + 1, 4)} `{name}`\n")
        ctx = typer.Context(cmd, info_name=f"pgdr {name}")
        out.append(f"Usage: `pgdr {name} {' '.join(cmd.collect_usage_pieces(ctx))}`\n")
        if cmd.help:  # every paragraph, each on one line
            paragraphs = inspect.cleandoc(cmd.help).split("\n\n")
            out.append("\n\n".join(" ".join(p.split()) for p in paragraphs) + "\n")
        params = [p for p in cmd.params if p.name != "help"]
        args = [p for p in params if p.param_type_name == "argument"]
        opts = [p for p in params if p.param_type_name == "option"]
        if args:
            out.append("Arguments: " + ", ".join(f"`{a.name.upper()}`" for a in args) + "\n")
        if opts:
            out.append("| option | meaning | default |\n|---|---|---|")
            for o in opts:
                flags = ", ".join(f"`{f}`" for f in o.opts + o.secondary_opts)
                default = (
                    ""
                    if o.default in (None, False) or (o.is_flag and not o.default)
                    else f"`{o.default}`"
                )
                env = f" (env `{o.envvar}`)" if o.envvar else ""
                out.append(f"| {flags} | {(o.help or '').strip()}{env} | {default} |")
            out.append("")
    for sub in sorted(getattr(cmd, "commands", {}).values(), key=lambda c: c.name):
        if hidden or not getattr(sub, "hidden", False):
            _walk(sub, [*path, sub.name], out, hidden=hidden)


def render_reference() -> str:
    root = build_command(app)
    out = [
        "# pgdr command reference\n",
        "Generated from the command tree by `python -m pgdr.cli.reference`; do not edit.\n",
        "## Global options\n",
    ]
    out.append("| option | meaning | default |\n|---|---|---|")
    for o in root.params:
        if o.name == "help":
            continue
        flags = ", ".join(f"`{f}`" for f in o.opts)
        env = f" (env `{o.envvar}`)" if getattr(o, "envvar", None) else ""
        out.append(f"| {flags} | {(getattr(o, 'help', '') or '').strip()}{env} | |")
    out.append("")
    _walk(root, [], out)
    hidden = [c for c in root.commands.values() if getattr(c, "hidden", False)]
    if hidden:
        out.append("## Developer commands\n")
        out.append(DEVELOPER_NOTE)
        for cmd in sorted(hidden, key=lambda c: c.name):
            _walk(cmd, [cmd.name], out, hidden=True)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.write_text(render_reference())
    print(f"wrote {target}")
