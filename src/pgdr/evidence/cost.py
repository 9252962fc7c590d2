"""Monthly storage cost from what is really stored: bytes by storage class from the
listings of the repository and its replicas, times the configured price per GB-month.
A class without a configured price has no cost figure (never an invented price)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from pgdr.humanize import human
from pgdr.storage.base import ObjectInfo

GB = 1024**3
#: The class of a backend with one class only (file://, mem://).
LOCAL = "local"


@dataclass
class ClassLine:
    location: str  # the repository's name in the config
    url: str
    storage_class: str
    objects: int
    bytes: int
    price_per_gb_month: float | None
    monthly_cost: float | None


@dataclass
class CostReport:
    currency: str
    prices_as_of: str
    lines: list[ClassLine] = field(default_factory=list)
    #: Classes holding bytes that [costs] per_gb_month has no price for.
    unpriced: list[str] = field(default_factory=list)
    total_bytes: int = 0
    #: The sum over priced classes; None when nothing is priced.
    monthly_total: float | None = None
    complete: bool = True  # every class with bytes has a price
    not_covered: list[str] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        t = Table(
            title=f"Monthly storage cost ({self.currency}, prices {self.prices_as_of or 'undated'})"
        )
        for col in ("location", "class", "objects", "bytes", "$/GB-month", "monthly"):
            t.add_column(col)
        for ln in self.lines:
            t.add_row(
                ln.location,
                ln.storage_class,
                str(ln.objects),
                f"{ln.bytes} ({human(ln.bytes)})",
                "no price" if ln.price_per_gb_month is None else f"{ln.price_per_gb_month:g}",
                "-" if ln.monthly_cost is None else f"{ln.monthly_cost:.4f}",
            )
        console.print(t)
        total = "-" if self.monthly_total is None else f"{self.monthly_total:.4f} {self.currency}"
        console.print(f"total: {human(self.total_bytes)}, {total} per month")
        if self.unpriced:
            console.print(
                f"no price in [costs] per_gb_month for: {', '.join(self.unpriced)}", markup=False
            )
        for n in self.not_covered:
            console.print(f"not covered: {n}", markup=False)


def bytes_by_class(objects: Iterable[ObjectInfo]) -> dict[str, tuple[int, int]]:
    """Storage class -> (objects, bytes)."""
    out: dict[str, tuple[int, int]] = {}
    for o in objects:
        cls = o.storage_class or LOCAL
        n, b = out.get(cls, (0, 0))
        out[cls] = (n + 1, b + o.size)
    return out


def cost_report(
    locations: list[tuple[str, str, dict[str, tuple[int, int]]]],
    prices: dict[str, float],
    currency: str,
    as_of: str,
    *,
    exports: bool = False,
) -> CostReport:
    """``locations``: (name, url, bytes_by_class) for the repository, each replica and, when
    ``exports`` (an ``[exports] url`` is configured), the exports target."""
    rep = CostReport(currency, as_of)
    unpriced: set[str] = set()
    for name, url, classes in locations:
        for cls, (n, b) in sorted(classes.items()):
            price = prices.get(cls)
            cost = None if price is None else b / GB * price
            rep.lines.append(ClassLine(name, url, cls, n, b, price, cost))
            rep.total_bytes += b
            if price is None and b:
                unpriced.add(cls)
    priced = [ln.monthly_cost for ln in rep.lines if ln.monthly_cost is not None]
    rep.monthly_total = sum(priced) if priced else None
    rep.unpriced = sorted(unpriced)
    rep.complete = not unpriced
    rep.not_covered = ["requests and transfer (no request counts are recorded yet)"]
    if not exports:
        rep.not_covered.insert(0, "exports (no [exports] url configured)")
    return rep
