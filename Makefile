# Two commands a new user needs: `make demo` (sandbox -> Meltano -> DuckDB) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test demo report lint benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

# The type checker runs first (strict on taps_common, see pyproject), then every test.
test: install
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: install
	$(BIN)/python scripts/demo.py

# The evidence pack (output/evidence-pack/index.html) from the warehouse `make demo` filled;
# options go in REPORT_ARGS, e.g. make report REPORT_ARGS='--since 2026-11-01'.
report: install
	$(BIN)/python -m evidence_pack $(REPORT_ARGS)

benchmark: install
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/run.py --pipeline

# output/'s folders stay (they are part of the checkout); what runs wrote there goes.
clean:
	rm -rf $(VENV) .venv-meltano .meltano
	find output -mindepth 1 ! -name .gitkeep ! -type d -delete
