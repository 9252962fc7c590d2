"""Building blocks of every settings model (the config file, drills, notifications, the
daemon): the strict model configuration and the ``Secret`` field type — a reference (``env:NAME`` or
``file:/path``), never a value, serialized back as the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer

from pgdr.secrets import SecretRef


def _to_secret(v: Any) -> SecretRef:
    if isinstance(v, SecretRef):
        return v
    if not isinstance(v, str):
        raise ValueError("must be a string reference like env:NAME or file:/path")
    return SecretRef.parse(v)


Secret = Annotated[SecretRef, BeforeValidator(_to_secret), PlainSerializer(str, return_type=str)]


#: Every settings model: unknown keys are errors (a typo must not silently become a
#: default), values keep their TOML types (``port = "5432"`` or ``unencrypted = "yes"`` is an
#: error naming the key, not a string coerced here and refused by a later command), and
#: settings are immutable once validated.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)

#: A path: TOML has no path type, so a string is accepted (the only lax field type).
LaxPath = Annotated[Path, Field(strict=False)]
