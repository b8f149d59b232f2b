# kbundle: the two commands that matter are `make demo` and `make test`; both set up everything.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv testbed lint layers typecheck unit test demo clean

help:
	@echo "make demo   two local clusters, a sample app exported, source stopped, imported renamed"
	@echo "make test   ruff, the layer contract, mypy and the whole suite (unit + integration)"
	@echo "make unit   only the unit tests (no clusters)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kbundle needs Python >= 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(STAMP)

# Binaries for the local clusters (a one-time ~6 minute build), or a check of the
# existing clusters named by KBUNDLE_TEST_SOURCE_KUBECONFIG / ..._DESTINATION_KUBECONFIG.
testbed: venv
	$(PY) -m testbed prepare

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The layer contract in pyproject.toml: core -> stages -> verbs -> cli, and no import cycle.
layers: venv
	$(VENV)/bin/lint-imports --no-cache

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit

test: lint layers typecheck testbed
	$(VENV)/bin/pytest --require-integration

demo: testbed
	$(PY) -m testbed demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
