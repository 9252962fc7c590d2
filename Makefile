# pgdr — the two commands of the quickstart are `make demo` and `make test`.
# Each installs what it needs into .venv first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck layers unit install bench bench-compare clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[dev]'
	@scripts/install-system-deps
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pgdr demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

# The whole suite: lint, types, the layer rule, then every test tier.
test: lint typecheck layers
	scripts/run-tests

bench: $(STAMP)
	$(PY) bench/repo_store.py

# Installs pgBackRest (Debian) if missing; prints pgdr/peer ratios.
bench-compare: $(STAMP)
	@command -v pgbackrest >/dev/null || (apt-get update -qq && apt-get install -y -qq pgbackrest)
	$(PY) bench/compare.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
