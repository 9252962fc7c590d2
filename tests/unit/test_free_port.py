"""Ports for servers tests and restores start later are picked outside the kernel's ephemeral
range, where a client connection could take one first (CI: a restored server failed with
"could not bind IPv4 address 127.0.0.1: Address already in use"), and never twice."""

from __future__ import annotations

import pytest

from pgdr.pg.osuser import ephemeral_range, free_port, port_candidates


@pytest.mark.parametrize(
    ("ephemeral", "first", "last"),
    [
        ((32768, 60999), 16384, 32767),  # Linux's default: below it
        ((20000, 30000), 3616, 19999),
        ((1024, 40000), 40001, 65535),  # starts low: above it
        ((1024, 65535), None, None),  # no room: the caller falls back to port 0
    ],
)
def test_candidates_avoid_the_ephemeral_range(
    ephemeral: tuple[int, int], first: int | None, last: int | None
) -> None:
    r = port_candidates(ephemeral)
    if first is None:
        assert len(r) == 0
    else:
        assert (r[0], r[-1]) == (first, last)


def test_free_ports_are_outside_the_range_and_never_repeated() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    if len(port_candidates((low, high))):
        assert not [p for p in ports if low <= p <= high]
