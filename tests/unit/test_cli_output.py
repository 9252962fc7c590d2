"""Which arguments ask for JSON (errors before any option callback ran are reported in the
format asked for), and `pgdr exit-codes` lists exactly the codes docs/design.md §13 does."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import pgdr
from pgdr import errors
from pgdr.cli.exit_codes import error_tree_rows, exit_codes
from pgdr.cli.output_options import json_requested

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--json", "info"], True),
        (["info", "--json"], True),
        (["repo", "info", "--output", "json"], True),
        (["repo", "info", "--output=json"], True),
        (["info", "--output", "text"], False),
        (["info"], False),
        (["dev", "store", "--", "--json"], False),  # after --: a file named --json
        (["info", "--output"], False),
    ],
)
def test_json_requested(argv: list[str], expected: bool) -> None:
    assert json_requested(argv) is expected


def error_classes() -> list[type[errors.PgdrError]]:
    """Every error class of pgdr: some live beside the code that raises them."""
    for module in pkgutil.walk_packages(pgdr.__path__, "pgdr."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, todo = [], [errors.PgdrError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c.__module__.startswith("pgdr."))
    return found


def test_error_tree_names_every_error_with_its_code() -> None:
    rows = {(r.error, r.code) for r in error_tree_rows(errors.__doc__ or "")}
    assert {(c.__name__, c.exit_code) for c in error_classes()} == rows


def test_exit_codes_are_those_of_the_design() -> None:
    design = (Path(__file__).parents[2] / "docs" / "design.md").read_text()
    section = design.split("## 13. Exit codes", 1)[1].split("\n## ", 1)[0]
    documented: set[int] = set()
    for first, last, meaning in re.findall(r"^\| (\d+)(?:–(\d+))? \| (.+) \|$", section, re.M):
        documented.add(int(first))
        if last:
            documented.update(int(c) for c in re.findall(r"(?:^|[:,] )(\d+) ", meaning))
    assert {c.code for c in exit_codes().codes} == documented
    assert all(c.meaning for c in exit_codes().codes if c.error != "PgdrError")
