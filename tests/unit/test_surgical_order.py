"""The order several tables' missing rows go back in (pgdr.surgical.order, pure)."""

from __future__ import annotations

import pytest

from pgdr.errors import TableRestoreError
from pgdr.surgical.names import TableName
from pgdr.surgical.order import parents_first

pytestmark = pytest.mark.unit

USERS, SUBS, FAMILY, RECALLS, NOTES = (
    TableName("public", n) for n in ("users", "subscriptions", "family_members", "recalls", "notes")
)


@pytest.mark.parametrize(
    ("given", "keys", "expected"),
    [
        ([USERS], [], [USERS]),
        # no key among them: the operator's order
        ([RECALLS, USERS], [], [RECALLS, USERS]),
        # children given first still go after the table they point at
        ([SUBS, FAMILY, USERS], [(SUBS, USERS), (FAMILY, USERS)], [USERS, SUBS, FAMILY]),
        # a chain: notes -> subscriptions -> users
        ([NOTES, SUBS, USERS], [(NOTES, SUBS), (SUBS, USERS)], [USERS, SUBS, NOTES]),
        # a key to a table not restored does not count; nor does one to its own table
        ([SUBS, FAMILY], [(SUBS, USERS), (FAMILY, FAMILY)], [SUBS, FAMILY]),
        # two keys between the same pair count once
        ([SUBS, USERS], [(SUBS, USERS), (SUBS, USERS)], [USERS, SUBS]),
    ],
)
def test_parents_first(
    given: list[TableName], keys: list[tuple[TableName, TableName]], expected: list[TableName]
) -> None:
    assert parents_first(given, keys) == expected


def test_a_cycle_is_refused_naming_it() -> None:
    keys = [(SUBS, USERS), (USERS, FAMILY), (FAMILY, SUBS)]
    with pytest.raises(TableRestoreError) as e:
        parents_first([RECALLS, SUBS, USERS, FAMILY], keys)
    assert "form a cycle" in e.value.message and '"public"."recalls"' not in e.value.message
    assert (
        '"public"."subscriptions" -> "public"."users" -> "public"."family_members" -> '
        '"public"."subscriptions"'
    ) in e.value.message
    assert "--as" in (e.value.hint or "")
