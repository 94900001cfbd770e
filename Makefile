# Two commands: `make run` (set up + plan the default scenario) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/base.yaml
OUT ?= out/base
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench lint setup clean browser

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

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# Headless Chromium for the report's browser test (tests/reporting/test_report.py, marker `browser`):
# installed from Debian when missing and we are root; otherwise that test is skipped.
browser:
	@if [ -x /usr/bin/chromium ]; then \
		echo "browser: /usr/bin/chromium present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver) \
			|| echo "note: could not install chromium; the browser test will be skipped"; \
	else \
		echo "note: /usr/bin/chromium missing and not root or no apt-get; the browser test will be skipped"; \
	fi

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
	$(BIN)/ruff check planner forecast tests bench examples

clean:
	rm -rf $(VENV) $(PEER) out .pytest_cache .ruff_cache
