"""pgdr.export.encoding: per-column Parquet encodings and zstd levels from a sample, and the
files they make read back equal (pyarrow and DuckDB) with the encodings they promise."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pgdr.export.encoding import (
    ColumnChoice,
    choose_column,
    distinct_ratio,
    leaf_paths,
    level_for,
    payload,
    writer_options,
)

N = 20_000
UTC = dt.UTC
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
# Deterministic "random" bytes: a SHA-256 chain (incompressible, never repeating).
RANDOM_HEX = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(N)]
WORDS = ["crib", "stroller", "latch", "strap", "wheel", "buckle", "may", "tip", "break", "loose"]
# Sentences from a word list, each unique: what free text in a table looks like to zstd.
SENTENCES = [
    " ".join(WORDS[b % len(WORDS)] for b in hashlib.sha256(str(i).encode()).digest()[:12])
    + f" ({i} reports)"
    for i in range(N)
]


@pytest.mark.parametrize(
    ("name", "array", "level", "expected"),
    [
        # keys and sequences: a delta encoding, no dictionary
        (
            "int key",
            pa.array(range(N), pa.int64()),
            3,
            ColumnChoice(False, "DELTA_BINARY_PACKED", 1),
        ),
        (
            "timestamps to the microsecond",
            pa.array(
                [T0 + dt.timedelta(microseconds=7 * i) for i in range(N)], pa.timestamp("us", "UTC")
            ),
            3,
            ColumnChoice(False, "DELTA_BINARY_PACKED", 1),
        ),
        (
            "text that never repeats",
            pa.array(SENTENCES),
            9,
            ColumnChoice(False, "DELTA_BYTE_ARRAY", 9),  # text: level 9 pays
        ),
        # random hex: level 3 buys nothing over level 1
        ("random hex", pa.array(RANDOM_HEX), 3, ColumnChoice(False, "DELTA_BYTE_ARRAY", 1)),
        # values that repeat: a dictionary (and level 1 where the level would not pay)
        (
            "few labels",
            pa.array(["free", "family", "pro"] * (N // 3)),
            3,
            ColumnChoice(True, None, 1),
        ),
        (
            "dates",
            pa.array([dt.date(2020, 1, 1 + i % 28) for i in range(N)]),
            3,
            ColumnChoice(True, None, 1),
        ),
        (
            "int with repeats",
            pa.array([i % 5000 for i in range(N)], pa.int32()),
            7,
            ColumnChoice(True, None, 1),
        ),
        ("all NULL", pa.nulls(N, pa.string()), 3, ColumnChoice(True, None, 3)),
        # types that keep Parquet's defaults
        ("bool", pa.array([i % 2 == 0 for i in range(N)]), 3, ColumnChoice(True, None, 3)),
        ("float", pa.array([i / 7 for i in range(N)]), 3, ColumnChoice(True, None, 3)),
        (
            "decimal",
            pa.array(range(N), pa.int32()).cast(pa.decimal128(12, 2)),
            3,
            ColumnChoice(True, None, 3),
        ),
        (
            "level 1 configured",
            pa.array([f"row {i}" for i in range(N)]),
            1,
            ColumnChoice(False, "DELTA_BYTE_ARRAY", 1),
        ),
    ],
)
def test_choose_column(name: str, array: pa.Array, level: int, expected: ColumnChoice) -> None:
    assert choose_column(array, level) == expected, name


@pytest.mark.parametrize(
    ("array", "ratio"),
    [
        (pa.array([1, 2, 3, 4]), 1.0),
        (pa.array([1, 1, 2, 2]), 0.5),
        (pa.array([1, None, 1, None]), 0.5),  # NULLs are not values
        (pa.nulls(3, pa.int64()), 0.0),
        (pa.array([], pa.int64()), 0.0),
    ],
)
def test_distinct_ratio(array: pa.Array, ratio: float) -> None:
    assert distinct_ratio(array) == ratio


def test_payload_is_the_values_of_the_slice() -> None:
    strings = pa.array(["aa", "bbb", "c", "dddd"])
    assert payload(strings.slice(1, 2)) == b"bbbc"
    assert payload(pa.array(["x"], pa.large_string()).slice(0, 1)) == b"x"
    assert payload(pa.array([1, 2], pa.int32())) == b"\x01\x00\x00\x00\x02\x00\x00\x00"
    assert payload(pa.nulls(0, pa.string())) == b""


def test_level_for() -> None:
    text = " ".join(f"the stroller {i % 97} may tip over" for i in range(20_000)).encode()
    assert level_for(text, 9) == 9  # text: a higher level pays
    assert level_for("".join(RANDOM_HEX).encode(), 9) == 1  # random hex: it does not
    assert level_for(b"tiny", 9) == 9  # too small to judge
    assert level_for(text, 1) == 1


@pytest.mark.parametrize(
    ("field", "paths"),
    [
        (pa.field("a", pa.int64()), ["a"]),
        (pa.field("tags", pa.list_(pa.field("element", pa.string()))), ["tags.list.element"]),
        (pa.field("tags", pa.list_(pa.string())), ["tags.list.element"]),
        (
            pa.field("iv", pa.struct([("months", pa.int32()), ("days", pa.int32())])),
            ["iv.months", "iv.days"],
        ),
        (pa.field("m", pa.list_(pa.list_(pa.int8()))), ["m.list.element.list.element"]),
    ],
)
def test_leaf_paths(field: pa.Field, paths: list[str]) -> None:
    assert leaf_paths(field) == paths


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(N), pa.int64()),
            "plan": pa.array(["free", "family", "pro", None] * (N // 4)),
            "note": pa.array([None if i % 9 == 0 else f"note {i}" for i in range(N)]),
            "filler": pa.array(RANDOM_HEX),
            "at": pa.array(
                [T0 + dt.timedelta(seconds=i) for i in range(N)], pa.timestamp("us", "UTC")
            ),
            "tags": pa.array(
                [[f"t{i % 3}", None] if i % 5 else None for i in range(N)],
                pa.list_(pa.field("element", pa.string())),
            ),
            "kind": pa.array(["a", "b"] * (N // 2)).dictionary_encode(),
        }
    )


def test_a_file_written_with_the_options_reads_back_equal(tmp_path: Path) -> None:
    table = _table()
    options = writer_options(table.to_batches()[0], 3)
    assert options.use_dictionary == ["plan", "tags.list.element", "kind"]
    assert options.column_encoding == {
        "id": "DELTA_BINARY_PACKED",
        "note": "DELTA_BYTE_ARRAY",
        "filler": "DELTA_BYTE_ARRAY",
        "at": "DELTA_BINARY_PACKED",
    }
    assert options.compression_level["filler"] == 1
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, table.schema, compression="zstd", **options.kwargs()) as w:  # type: ignore[arg-type]
        w.write_table(table, row_group_size=8_000)
    path = tmp_path / "t.parquet"
    path.write_bytes(buf.getvalue())
    assert pq.read_table(path).equals(table)
    md = pq.ParquetFile(path).metadata
    encodings = {
        md.row_group(0).column(i).path_in_schema: md.row_group(0).column(i).encodings
        for i in range(md.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings["id"]
    assert "DELTA_BYTE_ARRAY" in encodings["note"]
    assert "RLE_DICTIONARY" in encodings["plan"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        f"SELECT id, plan, note, filler, \"at\", tags, kind FROM read_parquet('{path}') ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == list(range(N))
    assert [r[3] for r in rows] == RANDOM_HEX
    assert rows[9] == (
        9,
        "family",
        None,
        RANDOM_HEX[9],
        T0 + dt.timedelta(seconds=9),
        ["t0", None],
        "b",
    )
    assert rows[10][5] is None
