# pgdr — the two commands of the quickstart are `make demo` and `make test`.
# Each installs what it needs into .venv first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck layers unit install bytecode bench bench-compare clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[dev]'
	@scripts/install-system-deps
	@scripts/install-checkov $(VENV)
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Bytecode for pgdr's own modules, as a pip-installed pgdr has: PostgreSQL runs
# `pgdr wal-push`/`wal-fetch` as its own OS user, which cannot write __pycache__ into this
# checkout, so without it every archive_command call compiles pgdr again (and
# PYTHONDONTWRITEBYTECODE, if set, stops even root from caching). Only stale files compile.
bytecode: $(STAMP)
	@$(PY) -m compileall -q src >/dev/null

demo: bytecode
	$(VENV)/bin/pgdr demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

# The whole suite: lint, types, the layer rule, then every test tier.
test: lint typecheck layers bytecode
	scripts/run-tests

bench: bytecode
	$(PY) bench/repo_store.py

# Installs pgBackRest (Debian) if missing; prints pgdr/peer ratios.
bench-compare: bytecode
	@command -v pgbackrest >/dev/null || (apt-get update -qq && apt-get install -y -qq pgbackrest)
	$(PY) bench/compare.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
