"""pgdr.export.pipeline.read_ahead: order kept, producer errors raised in the consumer, an
early stop ends the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pgdr.export.pipeline import read_ahead


def test_yields_everything_in_order() -> None:
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))
    assert list(read_ahead(iter([]))) == []


def test_producer_error_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise KeyError("boom")

    got: list[int] = []
    with pytest.raises(KeyError, match="boom"):
        for x in read_ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_consumer_stopping_early_stops_the_producer() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    gen = read_ahead(items(), depth=2)
    assert next(gen) == 0
    gen.close()  # joins the producer thread
    assert len(produced) <= 5  # depth 2, one in hand, one being offered
    assert not [t for t in threading.enumerate() if t.name == "pgdr-export-read"]
