"""Rendering command results: ``--json`` or text. Commands return result objects; this is
the only place that decides how they look."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from pgdr.cli.context import CliContext
from pgdr.cli.error_output import report_error
from pgdr.errors import PgdrError


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.name.startswith("_")
        }
    if hasattr(obj, "model_dump"):
        return to_jsonable(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).hex()
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    return obj


def fail_after_result(cli: CliContext, err: PgdrError) -> NoReturn:
    """Fail a command that has emitted its result already: with JSON, stdout stays one JSON
    document (the result says what failed) and the error goes to stderr only."""
    if cli.json:
        raise typer.Exit(report_error(err, as_json=False))
    raise err


def emit(cli: CliContext, result: Any) -> None:
    if cli.json:
        print(json.dumps(to_jsonable(result), indent=2, sort_keys=False))
        return
    if hasattr(result, "render_text"):
        result.render_text(cli.out)
        return
    data = to_jsonable(result)
    if isinstance(data, dict):
        t = Table(show_header=False, box=None)
        for k, v in data.items():
            cell = json.dumps(v) if isinstance(v, dict | list) else str(v)
            t.add_row(escape(str(k)), escape(cell))
        cli.out.print(t)
    else:
        cli.out.print(escape(str(data)))
