"""Shared pytest fixtures live in tests/fixtures/; they are registered here."""

pytest_plugins = [
    "tests.fixtures.moto_server",
    "tests.fixtures.pg",
]
