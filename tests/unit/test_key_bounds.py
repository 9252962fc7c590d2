"""Pure rules of key slots: scrypt bounds and how KMS key references compare."""

from __future__ import annotations

import pytest

from pgdr.errors import KdfOutOfBounds
from pgdr.repo.kdf_bounds import check_kdf_params, scrypt_problem
from pgdr.repo.keys import kms_key_ref, may_be_same_kms_key

pytestmark = pytest.mark.unit
SALT = "AAAAAAAAAAAAAAAAAAAAAA=="  # 16 bytes


@pytest.mark.parametrize(
    ("n", "r", "p", "min_n", "problem"),
    [
        (1 << 17, 8, 1, 1 << 17, None),  # what pgdr writes
        (1 << 20, 8, 1, 1 << 17, None),  # the largest n: 1 GiB
        (1024, 8, 1, 1024, None),  # the test override
        (1024, 8, 1, 1 << 17, "below the 131072"),
        (1 << 21, 8, 1, 1024, "above the bound"),
        (1000, 8, 1, 2, "not a power of two"),
        (1, 8, 1, 0, "not a power of two"),
        (1024, 33, 1, 1024, "r=33"),
        (1024, 0, 1, 1024, "r=0"),
        (1024, 8, 17, 1024, "p=17"),
        (1024, 8, 400, 1024, "p=400"),
        (1024, 8, 0, 1024, "p=0"),
        (1 << 20, 16, 1, 1024, "needs 2048 MiB"),
    ],
)
def test_scrypt_bounds(n: int, r: int, p: int, min_n: int, problem: str | None) -> None:
    got = scrypt_problem(n, r, p, min_n)
    assert (got is None) if problem is None else (got is not None and problem in got), got


@pytest.mark.parametrize(
    "params",
    [
        {"kdf": "argon2", "salt": SALT},
        {"kdf": "scrypt", "n": "1024", "r": 8, "p": 1, "salt": SALT},
        {"kdf": "scrypt", "n": 1024, "r": 8, "p": True, "salt": SALT},
        {"kdf": "scrypt", "n": 1024, "r": 8, "p": 1, "salt": "AAAA"},
        {"kdf": "scrypt", "n": 1024, "r": 8, "p": 1},
        {"kdf": "hkdf-sha256", "salt": 5},
    ],
)
def test_malformed_slot_parameters_are_refused(params: dict[str, object]) -> None:
    with pytest.raises(KdfOutOfBounds, match="slot x"):
        check_kdf_params(params, "slot x", 1024)


def test_parameters_pgdr_writes_pass() -> None:
    check_kdf_params({"kdf": "scrypt", "n": 1024, "r": 8, "p": 1, "salt": SALT}, "s", 1024)
    check_kdf_params({"kdf": "hkdf-sha256", "salt": SALT}, "s", 0)


ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS_ARN = "arn:aws:kms:us-east-1:123456789012:alias/pgdr"


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab", ("key", "1234abcd-12ab-34cd-56ef-1234567890ab")),
        (ARN, ("key", "1234abcd-12ab-34cd-56ef-1234567890ab")),
        ("alias/pgdr", ("alias", "pgdr")),
        (ALIAS_ARN, ("alias", "pgdr")),
    ],
)
def test_kms_key_ref(ref: str, parsed: tuple[str, str]) -> None:
    assert kms_key_ref(ref) == parsed


@pytest.mark.parametrize(
    ("recorded", "configured", "maybe"),
    [
        (ARN, "1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", ARN, True),
        (ARN, "ffffffff-12ab-34cd-56ef-1234567890ab", False),
        ("alias/pgdr", ALIAS_ARN, True),
        ("alias/other", "alias/pgdr", False),
        # an alias and a key id: only KMS can tell; tried with the configured KeyId
        ("alias/pgdr", ARN, True),
        (ARN, "alias/other", True),
    ],
)
def test_may_be_same_kms_key(recorded: str, configured: str, maybe: bool) -> None:
    assert may_be_same_kms_key(recorded, configured) is maybe
