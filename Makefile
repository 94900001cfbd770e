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
	$(BIN)/planner forecast $(SCENARIO) --out $(OUT)/forecast
	$(BIN)/planner plan $(SCENARIO) --out $(OUT) --model $(OUT)/forecast/model
	$(BIN)/planner kpis $(SCENARIO) --out $(OUT) --model $(OUT)/forecast/model

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The peer library (statsforecast) needs pandas < 3: it gets its own environment.
PEER := .venv-peer
PEER_STAMP := $(PEER)/.installed

$(PEER_STAMP): bench/peer/requirements.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install --quiet -r bench/peer/requirements.txt
	touch $(PEER_STAMP)

bench: $(STAMP) $(PEER_STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check planner forecast tests bench

clean:
	rm -rf $(VENV) $(PEER) out .pytest_cache .ruff_cache
