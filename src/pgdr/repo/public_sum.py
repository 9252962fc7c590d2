"""A plaintext checksum for the objects read before a key is known: ``config`` and key slots.

Their authentication tag is keyed under the master key, so it can only be checked after a
slot has been unwrapped — and a damaged slot or config (a flipped ``repo_id``, salt or
wrapped key) then looks exactly like a wrong passphrase. These objects carry an unkeyed
checksum as well, checked before any field is read, so damage is named as damage:

    flags |= FLAG_PUBLIC_SUM (0x04); header bytes 8..28 (key id and nonce, unused by these
    objects) = BLAKE3(the object up to its tag, with those 20 bytes zeroed)[:20]

The keyed tag still covers everything (checksum included): the checksum detects accidents,
the tag forgery. Objects written before the checksum existed (flag clear) are read as before.
"""

from __future__ import annotations

import blake3

from pgdr.errors import IntegrityError
from pgdr.repo.format import FLAG_PUBLIC_SUM

_FLAGS = 6
_SUM = slice(8, 28)
SUM_LEN = 20


def _sum(framed: bytes | bytearray) -> bytes:
    zeroed = bytearray(framed)
    zeroed[_SUM] = bytes(SUM_LEN)
    return blake3.blake3(bytes(zeroed)).digest(length=SUM_LEN)


def stamp(framed: bytes) -> bytes:
    """``framed`` (header, length, body) with the flag set and the checksum filled in."""
    out = bytearray(framed)
    out[_FLAGS] |= FLAG_PUBLIC_SUM
    out[_SUM] = _sum(out)
    return bytes(out)


def check(framed: bytes, what: str) -> None:
    """IntegrityError when ``framed`` carries a checksum that does not match."""
    if framed[_FLAGS] & FLAG_PUBLIC_SUM and _sum(framed) != framed[_SUM]:
        raise IntegrityError(f"{what}: damaged (checksum mismatch)")
