"""``[exports]``: where exports go and what they hold (docs/design.md §8j).

Kept raw in ``pgdr.config.Config`` and validated here, where it is used, like ``[drill]``:
the model costs the lean WAL path nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from pgdr.config import S3Settings, url_problem
from pgdr.settings_types import STRICT


class ExportSettings(BaseModel):
    model_config = STRICT

    #: ``file:///abs/path`` or ``s3://bucket[/prefix][?endpoint=…&region=…]``: plain objects
    #: that DuckDB and Athena read, never the deduplicated repository.
    url: str | None = None
    #: Below the URL's own prefix (``s3://bucket`` + ``prefix = "exports"``).
    prefix: str = ""
    #: S3 storage class of every object at upload (e.g. STANDARD_IA); None: the bucket's default.
    storage_class: str | None = None
    #: SSE-KMS key for every object; None: the bucket's default encryption.
    sse_kms_key_id: str | None = None
    s3: S3Settings = S3Settings()
    #: Databases exported when a command names none; empty: ``[postgres] dbname``.
    databases: list[str] = []
    #: ``schema.table`` patterns (fnmatch) to export / leave out; empty: every user table.
    tables: list[str] = []
    exclude: list[str] = []
    #: A new part is started once a part's bytes pass this size.
    part_size_mib: int = Field(default=256, ge=1, le=16384)
    #: Rows per Parquet row group (scans skip by row group statistics).
    row_group_rows: int = Field(default=122_880, ge=1_000, le=100_000_000)
    #: zstd level of the Parquet files where it pays (a column it shrinks by < 3% over
    #: level 1 is written at 1; higher: fewer bytes, more CPU; docs/design.md §8j).
    compression_level: int = Field(default=3, ge=1, le=22)
    #: Parallel table readers.
    jobs: int = Field(default=2, ge=1, le=64)
    #: The S3 lifecycle rules for the prefix (``pgdr export lifecycle``; validated there).
    lifecycle: dict[str, Any] = {}

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url is not None and (why := url_problem(url)):
            raise ValueError(why.replace("repository", "exports"))
        return url

    @field_validator("prefix")
    @classmethod
    def _relative_prefix(cls, prefix: str) -> str:
        parts = prefix.strip("/").split("/")
        if prefix and any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"prefix {prefix!r} must be a relative path without '..'")
        return prefix.strip("/")


def export_section(config: Any) -> ExportSettings:
    """The validated ``[exports]`` section of a :class:`pgdr.config.Config`."""
    from pgdr.config import section

    result: ExportSettings = section(config, "exports", ExportSettings)
    return result
