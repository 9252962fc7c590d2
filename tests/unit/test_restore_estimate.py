"""The restore time estimate from drill records (``pgdr.restore.estimate``)."""

from __future__ import annotations

from typing import Any

import pytest

from pgdr.restore.estimate import DrillTiming, estimate, files_bytes, timing_of
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

MIB = 1 << 20
SEG = 16 * MIB
FILES = [
    {"path": "base", "kind": "dir", "size": 0},
    {"path": "base/1/1", "kind": "file", "size": 40 * MIB},
    {"path": "global/1", "kind": "file", "size": 8 * MIB},
    {"path": "bad", "kind": "file", "size": "x"},
]
BACKUP = manifest(id="B1", files=FILES, start_lsn="0/2000028", stop_lsn="0/2000100")


def drill_doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "D1",
        "result": "passed",
        "error": None,
        "backup": {"id": "B1"},
        "reached": {"lsn": "0/4000100"},  # segments 2..4: three
        "steps": [
            {"name": "fetch", "seconds": 2.0},
            {"name": "instance creation", "seconds": 1.0},
            {"name": "wal replay", "seconds": 1.0},
            {"name": "validation", "seconds": 50.0},  # not what a restore does
            {"name": "cleanup", "seconds": 9.0},
        ],
    }
    return {**doc, **over}


def test_files_bytes_counts_regular_files_only() -> None:
    assert files_bytes(BACKUP) == 48 * MIB


@pytest.mark.parametrize(
    ("case", "doc", "expected"),
    [
        ("passed", drill_doc(), DrillTiming("D1", 4.0, 48 * MIB + 3 * SEG)),
        ("warning counts", drill_doc(result="warning"), DrillTiming("D1", 4.0, 48 * MIB + 3 * SEG)),
        ("no reached lsn: the backup's WAL", drill_doc(reached={}),
         DrillTiming("D1", 4.0, 48 * MIB + SEG)),
        ("failed", drill_doc(result="failed"), None),
        ("aborted", drill_doc(error={"step": "fetch"}), None),
        ("backup gone", drill_doc(backup={"id": "B2"}), None),
        ("no steps", drill_doc(steps=[]), None),
        ("a malformed reached lsn is ignored", drill_doc(reached={"lsn": "zz"}),
         DrillTiming("D1", 4.0, 48 * MIB + SEG)),
    ],
)  # fmt: skip
def test_timing_of(case: str, doc: dict[str, Any], expected: DrillTiming | None) -> None:
    assert timing_of(doc, {"B1": BACKUP}) == expected


def test_no_drill_no_estimate() -> None:
    e = estimate([], 100 * MIB)
    assert e.seconds is None and "no drill record" in e.basis


def test_estimate_is_bytes_over_the_median_of_the_newest_five() -> None:
    old = [DrillTiming(f"old{i}", 1.0, 1000 * MIB) for i in range(3)]  # fast, but too old
    recent = [DrillTiming(f"D{i}", 10.0, mib * MIB) for i, mib in enumerate([10, 20, 30, 40, 50])]
    e = estimate([*old, *recent], 300 * MIB)
    assert e.throughput == 3 * MIB  # median of 1..5 MiB/s
    assert e.seconds == pytest.approx(100.0)
    assert e.drills == tuple(f"D{i}" for i in range(5))
    assert "median restore throughput of the 5 most recent passed drills" in e.basis
    assert "3.0 MiB/s" in e.basis


def test_preview_text_names_the_gap_and_the_basis() -> None:
    from rich.console import Console

    from pgdr.restore.preview import Gap, PreviewResult, WalRange, refuse_unreachable

    seg = "000000010000000000000005"
    result = PreviewResult(
        "B1", "2026-12-01T03:00:00+00:00", "latest", "1", False,
        f"WAL {seg} is missing", WalRange("000000010000000000000002",
        "000000010000000000000004", 3, 3 * SEG, 1000), Gap(seg, "0/5000000",
        "2026-12-01T03:05:00+00:00", False), 40 * MIB, 48 * MIB, ["hr", "postgres"], ["sales"],
        12.5, "median restore throughput of the 1 most recent passed drill (3.0 MiB/s …)",
        ["D1"],
    )  # fmt: skip
    console = Console(record=True, width=200)
    result.render_text(console)
    text = console.export_text()
    assert f"gap: WAL {seg} is missing from the repository" in text
    assert "the latest reachable point is LSN 0/5000000" in text
    assert "3 segments, 48.0 MiB to replay, 1000 B to fetch" in text
    assert "left out (not fetched): sales" in text
    assert "estimated time: " in text and "median restore throughput" in text
    assert "the target is unreachable" in text
    err = refuse_unreachable(result)
    assert err is not None and err.exit_code == 38
