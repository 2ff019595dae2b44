# Scalpaiboard: `make run` sets up and serves (embedded mode), `make test` sets up and runs the suite.
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
VENDOR := static/vendor

.PHONY: run test setup lint format bench clean

# One process migrates, loads the market, prints the login, then serves in the foreground (daphne)
# and prints where once the app answers: see scalpaiboard/launcher.py.
run: $(VENV)/.installed $(VENDOR)/.copied
	@exec $(PY) -m scalpaiboard.launcher --host $(HOST) --port $(PORT)

test: $(VENV)/.installed $(VENDOR)/.copied
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The full stack refuses to start without keys for stored credentials: the suite brings its own.
	FIELD_ENCRYPTION_KEYS=$${FIELD_ENCRYPTION_KEYS:-$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')} \
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

# The full stack's benchmarks need PostgreSQL and Redis; the embedded ones need nothing. See bench/README.md.
bench: $(VENV)/.installed
	$(PY) bench/api_coins.py
	$(PY) bench/api_coins.py --embedded
	$(PY) bench/ws_latency.py
	$(PY) bench/ws_latency.py --embedded
	$(PY) bench/analysis.py
	$(PY) bench/patterns.py
	$(PY) bench/binance_backfill.py
	$(PY) bench/binance_feed.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
