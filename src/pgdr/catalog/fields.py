"""Checks of a stored document's fields, shared by the manifest and its catalog snapshot:
each returns the value with its type, or raises TypeError naming what it is not (the caller
turns that into "not a usable backup manifest")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _check(v: object, kind: type[T], what: str) -> T:
    if not isinstance(v, kind):
        raise TypeError(f"{v!r} is not {what}")
    return v


def text(v: object) -> str:
    return _check(v, str, "text")


def flag(v: object) -> bool:
    return _check(v, bool, "true or false")


def mapping(v: object) -> dict[str, Any]:
    return _check(v, dict, "a mapping")


def items(v: object) -> list[Any]:
    """A list; absent (None) is an empty one."""
    return [] if v is None else _check(v, list, "a list")


def count(v: object) -> int:
    """A non-negative integer (not a boolean)."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise TypeError(f"{v!r} is not a count")
    return v


def optional(check: Callable[[object], T], v: object) -> T | None:
    return None if v is None else check(v)
