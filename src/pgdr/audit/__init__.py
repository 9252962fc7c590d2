"""The tamper-evident audit log stored in the repository (docs/design.md §8g).

from pgdr import audit
audit.record(repo, "expire", {"removed": [...], "forced": True})
"""

from pgdr.audit.log import record

__all__ = ["record"]
