"""Which config files a process may read: the pure rule, as a table."""

from __future__ import annotations

import os
import stat

import pytest

from pgdr.config_trust import untrusted_reason

pytestmark = pytest.mark.unit

ALICE = 1000
PG = 999


def st(mode: int, uid: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))


FILE = stat.S_IFREG
DIR = stat.S_IFDIR

CASES = [
    # (file mode, file owner, dir mode, dir owner, euid, explicit, reason or None)
    (0o644, 0, 0o755, 0, 0, False, None),
    (0o600, 0, 0o1777, 0, 0, False, None),  # root's file in /tmp: sticky, nobody replaces it
    (0o644, ALICE, 0o1777, 0, 0, False, "owned by"),  # alice's ./pgdr.toml in /tmp
    (0o644, ALICE, 0o755, ALICE, 0, False, "owned by"),
    (0o664, 0, 0o755, 0, 0, False, "writable by its group"),
    (0o666, 0, 0o755, 0, 0, False, "writable by every user"),
    (0o644, 0, 0o755, ALICE, 0, False, "directory is owned by"),  # alice can swap the file
    (0o644, 0, 0o777, 0, 0, False, "directory is writable by every user"),
    (0o644, 0, 0o775, 0, 0, False, "directory is writable by its group"),
    # explicit --config / $PGDR_CONFIG: the operator's choice, but never world-writable
    (0o644, ALICE, 0o755, ALICE, 0, True, None),
    (0o664, PG, 0o775, PG, 0, True, None),
    (0o646, 0, 0o755, 0, 0, True, "writable by every user"),
    # not root: own files or root's; group-writable is the user's business
    (0o664, PG, 0o755, PG, PG, False, None),
    (0o644, 0, 0o755, 0, PG, False, None),
    (0o644, ALICE, 0o755, ALICE, PG, False, "owned by"),
    (0o666, PG, 0o755, PG, PG, False, "writable by every user"),
    (0o666, PG, 0o755, PG, PG, True, "writable by every user"),
    (0o644, PG, 0o777, PG, PG, False, "directory is writable by every user"),
]


@pytest.mark.parametrize(("fmode", "fuid", "dmode", "duid", "euid", "explicit", "want"), CASES)
def test_untrusted_reason(
    fmode: int, fuid: int, dmode: int, duid: int, euid: int, explicit: bool, want: str | None
) -> None:
    got = untrusted_reason(st(FILE | fmode, fuid), st(DIR | dmode, duid), euid, explicit=explicit)
    if want is None:
        assert got is None
    else:
        assert got is not None and want in got, got
