# Two commands on a fresh machine: `make demo` (the main job on the built-in sandbox) and
# `make test` (the test suite). Each creates .venv and installs wkgt when it is missing or when
# pyproject.toml changed; a second run with nothing changed installs nothing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: demo test bench clean

demo: $(INSTALLED)
	$(BIN)/wkgt demo

test: $(INSTALLED_TEST)
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python scripts/bench_planner.py --skip-tissue
	$(BIN)/python scripts/bench_requests.py
	$(BIN)/python scripts/bench_tissue.py
	$(BIN)/python scripts/bench_strategies.py
	$(BIN)/python scripts/bench_batch.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# the test extras include everything `demo` needs, so they count as its install too
$(INSTALLED_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $@ $(INSTALLED)
