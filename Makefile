# kbundle: the two commands that matter are `make demo` and `make test`; both set up everything.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv testenv lint typecheck unit test demo clean

help:
	@echo "make demo   two local clusters, a sample app exported, source stopped, imported renamed"
	@echo "make test   ruff, mypy and the whole suite (unit + integration on real local clusters)"
	@echo "make unit   only the unit tests (no clusters)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kbundle needs Python >= 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(STAMP)

# Binaries for the local clusters (a one-time ~6 minute build), or a check of the
# existing clusters named by KBUNDLE_TEST_SOURCE_KUBECONFIG / ..._DESTINATION_KUBECONFIG.
testenv: venv
	$(PY) -m kbundle.testenv prepare

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit

test: lint typecheck testenv
	$(VENV)/bin/pytest --require-integration

demo: testenv
	$(PY) -m kbundle.testenv demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
