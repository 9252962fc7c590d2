"""Bounds on the KDF parameters a key slot asks for (docs/design.md §5).

A slot's parameters are read from storage, which an attacker may write: without bounds a
planted slot with a huge scrypt ``n`` or ``p`` makes every open (each ``wal-push``) slow or
memory-hungry, and archiving stalls. Parameters are checked before the KDF runs; a slot
outside the bounds is refused as damaged or forged.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pgdr.errors import KdfOutOfBounds

MAX_SCRYPT_N = 1 << 20
MAX_SCRYPT_R = 32
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY = 1 << 30  # 128 * n * r bytes
SALT_LEN = 16


def check_kdf_params(params: dict[str, Any], what: str, min_n: int) -> None:
    """Raise KdfOutOfBounds unless ``params`` are a KDF pgdr writes, within bounds.

    ``min_n`` is the scrypt cost this process would write itself (the default, or the
    lower ``PGDR_KDF_N`` test override): a slot never asks for less than that.
    """
    kdf = params.get("kdf")
    if kdf == "hkdf-sha256":
        _check_salt(params, what)
        return
    if kdf != "scrypt":
        raise KdfOutOfBounds(f"{what}: unknown KDF {kdf!r} (damaged or forged key slot)")
    n, r, p = (params.get(k) for k in ("n", "r", "p"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p)):
        raise KdfOutOfBounds(f"{what}: scrypt parameters are not integers (damaged or forged)")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    problem = scrypt_problem(n, r, p, min_n)
    if problem:
        raise KdfOutOfBounds(f"{what}: {problem} (damaged or forged key slot; not tried)")
    _check_salt(params, what)


def scrypt_problem(n: int, r: int, p: int, min_n: int) -> str | None:
    """Why (n, r, p) is refused, or None when it is within bounds."""
    if n < 2 or n & (n - 1):
        return f"scrypt n={n} is not a power of two"
    if n > MAX_SCRYPT_N:
        return f"scrypt n={n} is above the bound {MAX_SCRYPT_N}"
    if n < min_n:
        return (
            f"scrypt n={n} is below the {min_n} pgdr writes "
            "(PGDR_KDF_N lowers it for test repositories)"
        )
    if not 1 <= r <= MAX_SCRYPT_R:
        return f"scrypt r={r} is outside 1..{MAX_SCRYPT_R}"
    if not 1 <= p <= MAX_SCRYPT_P:
        return f"scrypt p={p} is outside 1..{MAX_SCRYPT_P}"
    if 128 * n * r > MAX_SCRYPT_MEMORY:
        return f"scrypt n={n} r={r} needs {128 * n * r >> 20} MiB, above {MAX_SCRYPT_MEMORY >> 20}"
    return None


def _check_salt(params: dict[str, Any], what: str) -> None:
    try:
        salt = base64.b64decode(params.get("salt", ""), validate=True)
    except (binascii.Error, TypeError, ValueError):
        salt = b""
    if len(salt) != SALT_LEN:
        raise KdfOutOfBounds(f"{what}: salt is not {SALT_LEN} bytes (damaged or forged key slot)")
