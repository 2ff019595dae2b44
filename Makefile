# Scalpaiboard: `make run` sets up and serves (embedded mode), `make test` sets up and runs the suite.
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
VENDOR := static/vendor

.PHONY: run test setup lint format bench clean

run: setup
	@$(PY) manage.py ensure_operator
	@echo "Scalpaiboard is running at http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) scalpaiboard.asgi:application

test: $(VENV)/.installed $(VENDOR)/.copied
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

setup: $(VENV)/.installed $(VENDOR)/.copied
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py market_load

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Front-end packages come from npm and are copied into static files, never committed.
$(VENDOR)/.copied: node_modules/.installed
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/htmx-ext-ws/dist/ws.min.js $(VENDOR)/htmx-ext-ws.js
	cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js $(VENDOR)/lightweight-charts.js
	@touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks need PostgreSQL and Redis (the full stack); see bench/README.md.
bench: $(VENV)/.installed
	$(PY) bench/api_coins.py
	$(PY) bench/ws_latency.py
	$(PY) bench/analysis.py
	$(PY) bench/patterns.py
	$(PY) bench/binance_backfill.py
	$(PY) bench/binance_feed.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
