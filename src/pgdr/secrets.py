"""Secrets are given by reference only — ``env:NAME`` or ``file:/path`` — and resolved at the
last moment. A reference prints as itself; a resolved value is never printed, and an empty one
is never returned."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pgdr.errors import ConfigError, KeyMissing


@dataclass(frozen=True)
class SecretRef:
    ref: str

    @classmethod
    def parse(cls, value: str) -> SecretRef:
        if value.startswith("env:") and len(value) > 4:
            return cls(value)
        if value.startswith("file:") and len(value) > 5:
            return cls(value)
        raise ValueError("secrets must be references like env:NAME or file:/path")

    def resolve(self, *, allow_empty: bool = False) -> str:
        """The value; an empty one (or only whitespace) is refused: an empty token or
        password would let everyone in, an empty passphrase protects nothing. A caller
        with its own refusal (the passphrase: exit 42) passes ``allow_empty``."""
        scheme, _, name = self.ref.partition(":")
        if scheme == "env":
            value = os.environ.get(name)
            if value is None:
                raise KeyMissing(f"secret {self.ref}: environment variable {name} is not set")
            if not value.strip() and not allow_empty:
                raise ConfigError(f"secret {self.ref}: environment variable {name} is empty")
            return value
        path = Path(name)
        try:
            value = path.read_text().rstrip("\n")
        except FileNotFoundError:
            raise KeyMissing(f"secret {self.ref}: file {path} does not exist") from None
        except OSError as e:
            raise ConfigError(f"secret {self.ref}: cannot read {path}: {e.strerror}") from None
        if not value.strip() and not allow_empty:
            raise ConfigError(f"secret {self.ref}: file {path} is empty")
        return value

    def resolvable(self) -> str | None:
        """None when the reference resolves, else the reason (never the value)."""
        try:
            self.resolve()
        except (KeyMissing, ConfigError) as e:
            return e.message
        return None

    def __str__(self) -> str:
        return self.ref

    def __repr__(self) -> str:
        return f"SecretRef({self.ref!r})"
