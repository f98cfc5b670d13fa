# Two commands a new user needs: `make demo` (sandbox -> Meltano -> DuckDB) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test demo lint benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

demo: install
	$(BIN)/python scripts/demo.py

benchmark: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-meltano .meltano output
