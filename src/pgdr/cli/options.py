"""Option declarations shared by several commands, so the same option reads the same way
everywhere."""

from __future__ import annotations

from typing import Annotated, Any

import typer


def flag(decl: str, help: str) -> Any:
    """A boolean flag: given or not, it takes no value."""
    return typer.Option(decl, help=help)


Unencrypted = Annotated[
    bool, flag("--unencrypted", "Explicitly use a repository without encryption.")
]
