"""The tamper-evident audit log stored in the repository (docs/design.md §8g).

from pgdr import audit
audit.record(repo, "expire", {"removed": [...], "forced": True})

``record`` is imported on first use: the WAL path imports ``pgdr.audit.ingest`` on every
push and records an entry only once per period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgdr.audit.log import record

__all__ = ["record"]


def __getattr__(name: str) -> Any:
    if name == "record":
        from pgdr.audit.log import record

        return record
    raise AttributeError(name)
