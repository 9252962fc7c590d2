"""docs/cli.md matches the command tree (regenerate: python -m pgdr.cli.reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.cli.reference import render_reference

pytestmark = pytest.mark.unit


def test_cli_reference_is_current() -> None:
    doc = Path(__file__).parents[2] / "docs" / "cli.md"
    assert doc.read_text() == render_reference(), "run: .venv/bin/python -m pgdr.cli.reference"
