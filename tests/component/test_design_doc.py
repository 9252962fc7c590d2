"""docs/design.md is normative: its layout, object types, sizes and exit codes match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgdr import errors
from pgdr.repo import format as fmt
from pgdr.repo.envelope import HEADER_LEN
from pgdr.repo.index import ENTRY_DTYPE

pytestmark = pytest.mark.component
DOC = (Path(__file__).parents[2] / "docs" / "design.md").read_text()


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def test_layout_prefixes_are_documented() -> None:
    layout = section("2. Layout")
    for prefix in (
        fmt.CONFIG_KEY,
        fmt.KEYS_PREFIX,
        fmt.KEYRING_PREFIX,
        fmt.DATA_PREFIX,
        fmt.INDEX_PREFIX,
        fmt.MANIFESTS_PREFIX,
        fmt.WAL_PREFIX,
        fmt.LOCKS_PREFIX,
        fmt.PLANS_PREFIX,
        fmt.AUDIT_PREFIX,
    ):
        assert re.search(rf"^{re.escape(prefix)}", layout, re.M), prefix


def test_object_types_match() -> None:
    env = section("3. The envelope")
    listed = dict(
        (name, int(num))
        for num, name in re.findall(r"(\d) (\w+)", env.split("object type:")[1].split("\n")[0])
    )
    assert listed == {t.name.lower(): t.value for t in fmt.ObjectType}


def test_sizes_match() -> None:
    assert HEADER_LEN == 28 and "28-byte authenticated header" in DOC
    assert ENTRY_DTYPE.itemsize == 48 and "n_entries × 48 bytes" in DOC
    assert f'magic "{fmt.MAGIC.decode()}"' in DOC and f'"{fmt.PACK_MAGIC.decode()}"' in DOC
    assert f"format version ({fmt.FORMAT_VERSION})" in DOC


def test_drill_record_fields_are_documented() -> None:
    import dataclasses

    from pgdr.drill.record import DrillRecord
    from pgdr.drill.state import Marker

    drills = section("8d. Drills")
    for f in dataclasses.fields(DrillRecord):
        assert f.name in drills, f.name
    for f in dataclasses.fields(Marker):
        assert f.name in drills, f.name


def documented_exit_codes() -> dict[int, str]:
    """The codes §13 gives a meaning: a row's single code, or each ``N meaning`` listed in a
    range row (``20–26 | storage: 21 unreachable, ...``), whose first code is the group's."""
    codes: dict[int, str] = {}
    for row in re.findall(r"^\| ([\d–]+) \| (.+) \|$", section("13. Exit codes"), re.M):
        first, _, last = row[0].partition("–")
        if not last:
            codes[int(first)] = row[1]
            continue
        codes[int(first)] = row[1].split(":")[0]
        for code, meaning in re.findall(r"(?:^|[:,] )(\d+) ([^,]+)", row[1]):
            assert int(first) <= int(code) <= int(last), (row[0], code)
            codes[int(code)] = meaning
    return codes


def error_classes() -> list[type[errors.PgdrError]]:
    found, todo = [], [errors.PgdrError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_exit_codes_match() -> None:
    documented = documented_exit_codes()
    for cls in error_classes():
        assert cls.exit_code in documented, cls.__name__
    # and every documented code is one an error carries, but for success, a bug and wal-fetch's
    used = {cls.exit_code for cls in error_classes()}
    assert set(documented) - used == {0, 70, 162}, set(documented) - used


def test_daemon_section_names_every_alert_and_metric() -> None:
    from pgdr.daemon.alert_rules import RULES
    from pgdr.daemon.metrics import render
    from tests.fixtures.daemon_facts import full_view

    daemon = section("8h. The daemon")
    for name in RULES:
        assert f"`{name}`" in daemon, name
    exported = {
        line.split("{")[0].split(" ")[0]
        for line in render(full_view()).decode().splitlines()
        if line and not line.startswith("#")
    }
    for name in exported:
        base = name.removesuffix("_created")
        assert base in daemon, base


def test_code_layers_match_the_import_contract() -> None:
    """§15 names the same tiers, independent services and kept couplings as pyproject."""
    import tomllib

    doc = section("15. Code layers")
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    tiers = next(c for c in contracts if c["type"] == "layers")["layers"]
    in_contract = {
        name.strip().strip("()").removeprefix("pgdr.")
        for t in tiers
        for name in re.split("[|:]", t)
    }
    rows = [line for line in doc.splitlines() if line.startswith("| ") and "---" not in line]
    in_doc = {n for row in rows[1:] for n in re.findall(r"`(\w+)`", row.rsplit(" | ", 1)[0])}
    assert in_doc == in_contract
    services = next(c for c in contracts if c["type"] == "independence")
    for module in services["modules"]:
        assert module.removeprefix("pgdr.") in in_doc, module
    for kept in services["ignore_imports"]:
        src, dst = (m.strip().removeprefix("pgdr.") for m in kept.split("->"))
        assert f"`{src} -> {dst}`" in doc, kept
