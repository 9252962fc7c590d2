from __future__ import annotations

import itertools

import pytest

from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend

_names = itertools.count()
#: Cheap scrypt for tests; production default is 2**17.
PASS = Passphrase("correct horse battery staple", scrypt_n=1024)


@pytest.fixture
def backend():
    b = open_backend(f"mem://component-{next(_names)}")
    yield b
    b.close()


@pytest.fixture
def repo(backend) -> Repository:
    return Repository.init(backend, PASS, pack_size=1 << 20)
