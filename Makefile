# Two commands: `make run` (set up + plan the default scenario) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/base.yaml
OUT ?= out/base
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench lint setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/planner validate $(SCENARIO)
	$(BIN)/planner plan $(SCENARIO) --out $(OUT)
	$(BIN)/planner kpis $(SCENARIO) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check planner forecast tests bench

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
