"""Per-column Parquet encodings and zstd levels, chosen from a sample of the first rows a table
writes (one choice per table: ``writer.TableOptions``; docs/design.md §8j "Encodings").

Parquet's default (a dictionary for every column, PLAIN once the dictionary outgrows its page)
is right for columns with few distinct values and wrong for the rest: a dictionary of unique
keys stores every value twice, and PLAIN integers leave a sequence's regularity to zstd. So,
per top-level column, from at most :data:`SAMPLE_ROWS` rows:

- values that repeat (fewer distinct values than :data:`DELTA_MIN_RATIO` of the sampled
  rows): a dictionary — a sample understates repetition, so only columns whose values almost
  never repeat (keys, sequences, timestamps to the microsecond, free text) go without;
- otherwise integers, dates, times and timestamps: ``DELTA_BINARY_PACKED``; strings and
  binaries: ``DELTA_BYTE_ARRAY`` (shared prefixes stored once);
- booleans, decimals, UUIDs, floats, enums and nested columns keep Parquet's defaults.

Only encodings every Parquet reader pgdr's exports are made for reads (DuckDB, Athena/Trino,
Spark) are used. The zstd level is the configured one where it pays: a column whose sample
compresses less than :data:`LEVEL_MIN_GAIN` better at that level than at level 1 (random
data: hashes, tokens, hex filler) is written at level 1, which costs a fraction of the CPU for
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

#: Rows of the sample the choices are made from.
SAMPLE_ROWS = 16_384
#: A column whose sample has at least this share of distinct values gets a delta encoding
#: instead of a dictionary.
DELTA_MIN_RATIO = 0.95
#: A higher zstd level is kept only where it saves at least this share over level 1.
LEVEL_MIN_GAIN = 0.03
#: Bytes of a column's sample compressed to judge its level (the first bytes of its values).
LEVEL_SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class ColumnChoice:
    dictionary: bool
    #: None: Parquet's default (dictionary, else PLAIN)
    encoding: str | None
    level: int


@dataclass(frozen=True)
class WriterOptions:
    """Keyword arguments of ``pyarrow.parquet.ParquetWriter`` for the parts of one table."""

    use_dictionary: list[str]
    column_encoding: dict[str, str]
    compression_level: dict[str, int]

    def kwargs(self) -> dict[str, object]:
        out: dict[str, object] = {
            "use_dictionary": self.use_dictionary,
            "compression_level": self.compression_level,
        }
        if self.column_encoding:
            out["column_encoding"] = self.column_encoding
        return out


def _delta_kind(t: pa.DataType) -> str | None:
    """The delta encoding for a column of type ``t``, None when it keeps the defaults."""
    if pa.types.is_integer(t) or pa.types.is_temporal(t):
        if pa.types.is_duration(t) or pa.types.is_interval(t):
            return None
        return "DELTA_BINARY_PACKED"
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    ):
        return "DELTA_BYTE_ARRAY"
    return None


def distinct_ratio(col: pa.Array) -> float:
    """Distinct non-null values per non-null value of ``col`` (0.0 when all are NULL)."""
    values: int = len(col) - col.null_count
    if values == 0:
        return 0.0
    distinct: int = pc.count_distinct(col, mode="only_valid").as_py()
    return distinct / values


def payload(col: pa.Array) -> bytes:
    """The first :data:`LEVEL_SAMPLE_BYTES` of the values of a flat column (what zstd sees
    of it, near enough): a string's characters, a fixed-width column's data buffer."""
    t = col.type
    buffers = col.buffers()
    if _delta_kind(t) == "DELTA_BYTE_ARRAY":
        offsets, data = buffers[1], buffers[2]
        if len(col) == 0 or offsets is None or data is None:
            return b""
        wide = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
        bounds = memoryview(offsets).cast("q" if wide else "i")
        first, last = bounds[col.offset], bounds[col.offset + len(col)]
        return bytes(memoryview(data)[first : min(last, first + LEVEL_SAMPLE_BYTES)])
    data = buffers[1]
    if data is None:
        return b""
    return bytes(memoryview(data)[:LEVEL_SAMPLE_BYTES])


def level_for(sample: bytes, level: int) -> int:
    """``level``, or 1 when ``level`` saves less than :data:`LEVEL_MIN_GAIN` on ``sample``."""
    if level <= 1 or len(sample) < 4096:
        return level
    fast = len(pa.Codec("zstd", compression_level=1).compress(sample))
    best = len(pa.Codec("zstd", compression_level=level).compress(sample))
    return level if best <= fast * (1 - LEVEL_MIN_GAIN) else 1


def choose_column(col: pa.Array, level: int) -> ColumnChoice:
    """The encoding and zstd level of one top-level column, from its sample ``col``."""
    kind = _delta_kind(col.type)
    if kind is None:
        return ColumnChoice(True, None, level)
    dictionary = distinct_ratio(col) < DELTA_MIN_RATIO
    return ColumnChoice(dictionary, None if dictionary else kind, level_for(payload(col), level))


def leaf_paths(field: pa.Field) -> list[str]:
    """Parquet's column paths of one Arrow field (lists as ``name.list.element``)."""
    t = field.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [f"{field.name}.list.{p}" for p in leaf_paths(t.value_field.with_name("element"))]
    if pa.types.is_struct(t):
        return [f"{field.name}.{p}" for i in range(t.num_fields) for p in leaf_paths(t.field(i))]
    return [field.name]


def writer_options(sample: pa.RecordBatch, level: int) -> WriterOptions:
    """Options for the parts of a table whose first rows are ``sample`` (at most
    :data:`SAMPLE_ROWS` used)."""
    sample = sample.slice(0, SAMPLE_ROWS)
    use_dictionary: list[str] = []
    encodings: dict[str, str] = {}
    levels: dict[str, int] = {}
    for i, field in enumerate(sample.schema):
        paths = leaf_paths(field)
        if paths != [field.name]:  # nested: Parquet's defaults
            use_dictionary += paths
            levels.update(dict.fromkeys(paths, level))
            continue
        choice = choose_column(sample.column(i), level)
        if choice.dictionary:
            use_dictionary.append(field.name)
        if choice.encoding is not None:
            encodings[field.name] = choice.encoding
        levels[field.name] = choice.level
    return WriterOptions(use_dictionary, encodings, levels)
