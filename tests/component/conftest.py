from __future__ import annotations

import itertools

import pytest

from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.fixtures.keys import PASS

_names = itertools.count()


@pytest.fixture
def backend():
    b = open_backend(f"mem://component-{next(_names)}")
    yield b
    b.close()


@pytest.fixture
def repo(backend) -> Repository:
    return Repository.init(backend, PASS, pack_size=1 << 20)
