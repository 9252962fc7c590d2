"""The audit chain rules, table-tested on hand-made entries (no repository involved)."""

from __future__ import annotations

import pytest

from pgdr.audit.chain import MERGE_WINDOW, check_chain, next_seq, tips, unlinked
from pgdr.audit.entry import AuditEntry, entry_key, parse_key
from pgdr.audit.ingest import summarize
from pgdr.audit.state import Checkpoint

pytestmark = pytest.mark.unit


def k(seq: int, tag: str = "a") -> str:
    return entry_key(seq, bytes.fromhex(tag * 64))


def e(seq: int, tag: str = "a", prev: tuple[str, ...] = ()) -> AuditEntry:
    return AuditEntry(k(seq, tag), seq, prev, "2026-11-24T03:00:00+00:00", "backup")


def chain(n: int) -> dict[str, AuditEntry]:
    out = {k(1): e(1)}
    for s in range(2, n + 1):
        out[k(s)] = e(s, prev=(k(s - 1),))
    return out


def without(entries: dict[str, AuditEntry], *keys: str) -> dict[str, AuditEntry]:
    return {key: v for key, v in entries.items() if key not in keys}


FORK = {
    k(1): e(1),
    k(2, "b"): e(2, "b", (k(1),)),
    k(2, "c"): e(2, "c", (k(1),)),
}
MERGED = {**FORK, k(3): e(3, prev=(k(2, "b"), k(2, "c")))}

CASES = [
    # (id, entries, damaged, checkpoint, entries that must be named; [] = intact)
    ("intact", chain(4), {}, Checkpoint(k(4), 4), []),
    ("empty-log", {}, {}, None, []),
    ("fork-unmerged-tips", FORK, {}, None, []),
    ("fork-merged", MERGED, {}, Checkpoint(k(3), 3), []),
    ("middle-removed", without(chain(4), k(2)), {}, None, [k(2)]),
    ("first-removed", without(chain(3), k(1)), {}, None, [k(1)]),
    ("two-removed", without(chain(5), k(2), k(3)), {}, None, [k(3), "audit/000000000002-*"]),
    ("newest-removed-checkpoint", without(chain(4), k(4)), {}, Checkpoint(k(4), 4), [k(4)]),
    ("fork-branch-removed", without(MERGED, k(2, "c")), {}, None, [k(2, "c")]),
    (
        "cut-no-predecessor",
        {**without(chain(3), k(3)), k(3): e(3, prev=())},
        {},
        None,
        [k(3)],
    ),
    (
        "predecessor-not-lower",
        {k(1): e(1), k(2): e(2, prev=(k(3),)), k(3): e(3, prev=(k(2),))},
        {},
        None,
        [k(2)],
    ),
    (
        "first-with-predecessor",
        {k(1): e(1, prev=(k(1, "b"),))},
        {},
        None,
        [k(1)],
    ),
    ("damaged-entry", without(chain(3), k(2)), {k(2): "fails authentication"}, None, [k(2)]),
    ("invalid-prev-name", {k(1): e(1), k(2): e(2, prev=("audit/x",))}, {}, None, [k(2)]),
]


@pytest.mark.parametrize(
    ("entries", "damaged", "checkpoint", "named"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_check_chain(
    entries: dict[str, AuditEntry],
    damaged: dict[str, str],
    checkpoint: Checkpoint | None,
    named: list[str],
) -> None:
    problems = check_chain(entries, damaged, checkpoint)
    assert sorted({p.entry for p in problems}) == sorted(named), problems


def test_gap_names_the_entry_that_skips() -> None:
    # seq 3 gone and nobody names it: seq 4 claims to follow seq 2 directly.
    entries = {**without(chain(2), k(3)), k(4): e(4, prev=(k(2),))}
    problems = check_chain(entries, {})
    assert [p.entry for p in problems] == [k(4), "audit/000000000003-*"]
    assert "removed" in problems[0].message


def test_tips_and_next_seq() -> None:
    assert tips(chain(3).values()) == [k(3)]
    assert tips(FORK.values()) == sorted([k(2, "b"), k(2, "c")])
    assert tips(MERGED.values()) == [k(3)]
    assert tips(chain(2).values(), unreadable=[k(3, "f")]) == sorted([k(2), k(3, "f")])
    assert next_seq([]) == 1 and next_seq(list(MERGED)) == 4 and next_seq(["other"]) == 1


def test_unlinked_only_beyond_the_merge_window() -> None:
    n = MERGE_WINDOW + 3
    entries = chain(n)
    stray = e(2, "d", (k(1),))  # a fork at seq 2 nobody merged
    assert unlinked({**entries, stray.key: stray}) == [stray.key]
    recent = e(n - 1, "d", (k(n - 2),))
    assert unlinked({**entries, recent.key: recent}) == []


def test_entry_keys_round_trip() -> None:
    assert parse_key(k(42, "b")) == (42, "b" * 64)
    assert parse_key("audit/42-bb") is None and parse_key("wal/x") is None


def test_wal_ingest_summary() -> None:
    lines = [
        {"n": "000000010000000000000004", "b": 16, "t": 1_800_000_000.0},
        {"n": "000000010000000000000003", "b": 16, "t": 1_800_000_060.0},
    ]
    assert summarize(lines) == {
        "files": 2,
        "bytes": 32,
        "first": "000000010000000000000003",
        "last": "000000010000000000000004",
        "since": "2027-01-15T08:00:00+00:00",
        "until": "2027-01-15T08:01:00+00:00",
    }
    assert summarize([])["files"] == 0
