"""`pgdr exit-codes`: every exit code and what it means, read from the error tree drawn in
``pgdr.errors`` (the one source; docs/design.md §13 is kept equal to it by a test) plus the
few codes only the CLI returns."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

import pgdr.errors
from pgdr.cli.wal_entry import DAMAGED_FETCH_EXIT

SUCCESS_EXIT = 0
#: an unexpected exception: a bug, reported in one line (traceback with -v)
INTERNAL_ERROR_EXIT = 70

_CLI_ONLY = (
    (SUCCESS_EXIT, "", "success"),
    (INTERNAL_ERROR_EXIT, "", "internal error (a bug; run with -v for the traceback)"),
    (
        DAMAGED_FETCH_EXIT,
        "",
        "wal-fetch: the WAL object is damaged (34 + 128, so PostgreSQL aborts recovery)",
    ),
)
_ROW = re.compile(r"^[\s│├└─]*([A-Z]\w+) \((\d+)\)\s*(.*)$")
_MORE = re.compile(r"^[\s│]*\s{10,}(\S.*)$")


@dataclass(frozen=True)
class ExitCode:
    code: int
    error: str
    meaning: str


@dataclass(frozen=True)
class ExitCodes:
    codes: list[ExitCode]

    def render_text(self, console: Console) -> None:
        t = Table(box=None, show_header=True)
        t.add_column("code", justify="right")
        t.add_column("error")
        t.add_column("meaning")
        for c in self.codes:
            t.add_row(str(c.code), c.error, c.meaning)
        console.print(t)


def error_tree_rows(tree: str) -> list[ExitCode]:
    """The ``Name (code)  meaning`` rows of an error tree drawing; a meaning continued on the
    next line is joined, a ``[retryable]`` mark dropped."""
    rows: list[ExitCode] = []
    for line in tree.splitlines():
        m = _ROW.match(line)
        if m:
            meaning = m.group(3).replace("[retryable]", "").strip()
            rows.append(ExitCode(int(m.group(2)), m.group(1), meaning))
        elif rows and (more := _MORE.match(line)):
            last = rows[-1]
            rows[-1] = ExitCode(last.code, last.error, f"{last.meaning} {more.group(1).strip()}")
    return rows


def exit_codes() -> ExitCodes:
    rows = [ExitCode(code, error, meaning) for code, error, meaning in _CLI_ONLY]
    rows += error_tree_rows(pgdr.errors.__doc__ or "")
    return ExitCodes(sorted(rows, key=lambda r: r.code))


def help_epilog() -> str:
    return (
        "Exit codes: 0 success, 1 other error, 2 usage or configuration error, "
        f"{INTERNAL_ERROR_EXIT} internal error; `pgdr exit-codes` lists them all."
    )
