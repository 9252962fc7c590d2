"""The rules of the audit chain, as pure functions over parsed entries (table-tested).

The log is a DAG that is almost always a simple chain: an entry's ``prev`` lists every entry
that was a tip (referenced by nobody) when it was appended, and its ``seq`` is one more than
the highest of them. Two hosts appending at once both write ``seq`` N+1 naming the same tips;
the next append names both, which merges the fork. Nothing needs a lock or compare-and-swap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pgdr.audit.entry import AuditEntry, parse_key
from pgdr.audit.state import Checkpoint
from pgdr.repo.format import AUDIT_PREFIX

#: An append reads the entries of the newest MERGE_WINDOW + 1 sequence numbers to find tips.
MERGE_WINDOW = 8


@dataclass(frozen=True)
class Problem:
    entry: str  # the object key of the entry that is missing, damaged or misplaced
    message: str


def tips(entries: Iterable[AuditEntry], unreadable: Iterable[str] = ()) -> list[str]:
    """Keys nobody references: what the next entry must name. An unreadable entry counts as
    a tip (its own references are unknown, so naming extra predecessors is harmless)."""
    items = list(entries)
    referenced = {p for e in items for p in e.prev}
    keys = {e.key for e in items} | set(unreadable)
    return sorted(k for k in keys if k not in referenced)


def next_seq(keys: Iterable[str]) -> int:
    seqs = [p[0] for p in map(parse_key, keys) if p is not None]
    return max(seqs, default=0) + 1


def check_chain(
    entries: Mapping[str, AuditEntry],
    damaged: Mapping[str, str],
    checkpoint: Checkpoint | None = None,
) -> list[Problem]:
    """Everything wrong with a log: ``entries`` are the authenticated ones by key,
    ``damaged`` the keys that failed to open with the reason. Each problem names an entry."""
    problems = [Problem(k, msg) for k, msg in sorted(damaged.items())]
    present = set(entries) | set(damaged)
    missing: dict[str, list[str]] = {}
    for key in sorted(entries, key=lambda k: (entries[k].seq, k)):
        e = entries[key]
        if e.seq == 1:
            if e.prev:
                problems.append(Problem(key, "the first entry must not name predecessors"))
            continue
        if not e.prev:
            problems.append(
                Problem(key, f"seq {e.seq} names no predecessor: the chain was cut here")
            )
            continue
        prev_seqs = []
        for p in e.prev:
            parsed = parse_key(p)
            if parsed is None:
                problems.append(Problem(key, f"names an invalid predecessor {p!r}"))
                continue
            prev_seqs.append(parsed[0])
            if parsed[0] >= e.seq:
                problems.append(
                    Problem(key, f"names {p} (seq {parsed[0]}) as predecessor: out of order")
                )
            if p not in present:
                missing.setdefault(p, []).append(key)
        if prev_seqs and max(prev_seqs) != e.seq - 1:
            problems.append(
                Problem(key, f"seq {e.seq} follows seq {max(prev_seqs)}: entries between removed")
            )
    for p, by in sorted(missing.items()):
        problems.append(Problem(p, f"missing: removed from the log (named by {', '.join(by)})"))
    seen = {parsed[0] for parsed in map(parse_key, [*present, *missing]) if parsed is not None}
    for seq in range(1, max(seen, default=0)):
        if seq not in seen:  # whole stretches removed: nobody left to name them
            problems.append(
                Problem(f"{AUDIT_PREFIX}{seq:012d}-*", "missing: no entry with this seq remains")
            )
    if checkpoint is not None and checkpoint.key not in present:
        problems.append(
            Problem(
                checkpoint.key,
                f"missing: this host recorded it (seq {checkpoint.seq}) as the newest entry it "
                "saw; the newest entries were removed or rewritten",
            )
        )
    return problems


def unlinked(entries: Mapping[str, AuditEntry]) -> list[str]:
    """Entries nobody references that are older than the merge window: a fork an append did
    not see (harmless, reported as a note, not as tampering)."""
    newest = max((e.seq for e in entries.values()), default=0)
    return [k for k in tips(entries.values()) if entries[k].seq < newest - MERGE_WINDOW]
