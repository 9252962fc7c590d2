"""Human-readable sizes and durations, shared by every layer that talks to people."""

from __future__ import annotations

from datetime import UTC, datetime


def human(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def duration(seconds: float) -> str:
    """0.53 -> '0.5 s', 75 -> '1 min 15 s', 7260 -> '2 h 01 min' (exact values go to JSON)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    minutes = whole // 60
    return f"{minutes // 60} h {minutes % 60:02d} min"


def utc(when: datetime | str, *, seconds: bool = True) -> str:
    """An aware datetime or ISO 8601 text -> '2026-12-07 00:20:01 UTC' (whole seconds)."""
    dt = datetime.fromisoformat(when) if isinstance(when, str) else when
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
