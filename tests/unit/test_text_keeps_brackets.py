"""Text output shows an operator's words whole: rich reads "[prod]" as a style tag and
dropped it from tables (a backup label, a key slot's label, an audit detail)."""

from __future__ import annotations

import io

from rich.console import Console

from pgdr.cli.results import KeyList


def _render(obj: KeyList) -> str:
    buf = io.StringIO()
    obj.render_text(Console(file=buf, width=200, color_system=None))
    return buf.getvalue()


def test_a_key_slots_label_in_brackets_is_shown() -> None:
    slots = [{"id": "a1b2", "kind": "passphrase", "label": "[ops] laptop", "kdf": "scrypt"}]
    assert "[ops] laptop" in _render(KeyList(slots))
