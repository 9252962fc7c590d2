"""The click command tree behind `pgdr`, built once from the Typer app and finished in one
walk, so every command gets the same help rendering and the same output options:

- help is plain text, never parsed as rich markup: config sections such as ``[web]`` in a
  help string are printed as written, and flags and counts show no value placeholder;
- arguments read ``PATH`` in usage lines, in capitals, as click and argparse write them;
- a command's line in its group's listing is its help's whole first paragraph (click
  would otherwise cut it at ~45 characters, mid-sentence);
- every command that prints a result accepts ``--json`` and ``--output text|json`` after
  its name, as the root does before it (`pgdr.cli.output_options`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import typer

from pgdr.cli.output_options import output_params

#: commands that print no result object, so an output format would mean nothing
TEXT_ONLY = frozenset({"serve", "version", "demo", "wal-push", "wal-fetch"})


class _Argument(typer.core.TyperArgument):
    """An argument shown in usage lines the way click and argparse users read it: ``PATH``
    when required, ``[PATH]`` when not (Typer writes ``{PATH}``, which reads as a choice)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


def first_paragraph(help_text: str | None) -> str:
    """The first paragraph of a help string on one line: its short help."""
    paragraph = (help_text or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree with its path of names (the root's path is empty)."""
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def _prints_result(path: tuple[str, ...], cmd: Any) -> bool:
    if path and path[0] in TEXT_ONLY:
        return False
    is_group = hasattr(cmd, "commands")
    return not path or not is_group or bool(getattr(cmd, "invoke_without_command", False))


def finish(cmd: Any, path: tuple[str, ...] = ()) -> None:
    cmd.rich_markup_mode = None  # help is plain text: brackets are not markup
    if path and cmd.help and not cmd.short_help:
        cmd.short_help = first_paragraph(cmd.help)
    for param in cmd.params:
        if getattr(param, "count", False):
            param.show_default = False  # "-v, --verbose", not "[default: 0]"
        if isinstance(param, typer.core.TyperArgument):
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = param.name.upper()
    if _prints_result(path, cmd):
        cmd.params.extend(output_params())


@cache
def build_command(app: typer.Typer) -> Any:
    """The finished click command for `app` (a TyperGroup), built once per process."""
    root = typer.main.get_command(app)
    for path, cmd in list(walk(root)):
        finish(cmd, path)
    return root
