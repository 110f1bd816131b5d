# Vínculo — developer entry points. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY := .venv/bin/python
UV := .venv/bin/uv
VINCULO := .venv/bin/vinculo
PORT ?= 8000
HOST ?= 127.0.0.1
PG_URL ?= postgres://postgres@127.0.0.1:5432/vinculo
DEMO_CUSTOMERS ?= 3000
PYTEST_WORKERS ?= 2

.PHONY: help install assets migrate demo demo-data run worker test test-sqlite test-pg e2e lint format messages bench bench-analytics clean

help:
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

.venv/bin/uv:
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

install: .venv/bin/uv ## create .venv and install the locked dependencies and front-end assets
	$(UV) sync --frozen --quiet
	$(MAKE) --no-print-directory assets

assets: ## install front-end assets (npm registry; Plotly from its Python package) into vinculo/static/vendor
	@if [ ! -f vinculo/static/vendor/.installed ] || [ frontend/package-lock.json -nt vinculo/static/vendor/.installed ]; then \
	  cd frontend && npm ci --no-audit --no-fund --loglevel=error && cd .. && \
	  mkdir -p vinculo/static/vendor && \
	  cp frontend/node_modules/htmx.org/dist/htmx.min.js vinculo/static/vendor/ && \
	  cp frontend/node_modules/@picocss/pico/css/pico.min.css vinculo/static/vendor/ && \
	  touch vinculo/static/vendor/.installed; \
	fi
	@# Plotly's browser bundle ships inside the plotly Python package: copied, never a CDN.
	@src=$$(.venv/bin/python -c "import plotly, os; print(os.path.join(os.path.dirname(plotly.__file__), 'package_data', 'plotly.min.js'))") && \
	  mkdir -p vinculo/static/vendor && \
	  if [ ! -f vinculo/static/vendor/plotly.min.js ] || ! cmp -s "$$src" vinculo/static/vendor/plotly.min.js; then \
	    cp "$$src" vinculo/static/vendor/plotly.min.js; \
	  fi

migrate: install ## apply database migrations (SQLite under var/ unless DATABASE_URL is set)
	$(VINCULO) migrate --noinput

demo-data: migrate ## load the demo dataset and logins, build the warehouse and run the models (idempotent)
	$(VINCULO) demo --customers $(DEMO_CUSTOMERS)
	@echo "Building the analytics warehouse and running the models (about a minute)..."
	@$(VINCULO) analytics all || echo "  (a model could not run on this data; the dashboards say which)"

demo: demo-data ## install, migrate, load demo data, start web app + worker, print URL and logins
	@echo ""
	@echo "  Vínculo is starting at http://$(HOST):$(PORT)/"
	@$(VINCULO) demo --print-logins --url http://$(HOST):$(PORT)/
	@echo "  (Ctrl-C stops the web app and the worker)"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	  $(VINCULO) db_worker --queue-name default > var/worker.log 2>&1 & \
	  .venv/bin/uvicorn vinculo.asgi:application --host $(HOST) --port $(PORT) --workers 1 --log-level warning

run: install ## start only the web app (dev)
	VINCULO_DEBUG=1 $(VINCULO) runserver $(HOST):$(PORT)

worker: install ## start only the task worker
	$(VINCULO) db_worker

test: install ## the whole suite on SQLite, then on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-pg

test-sqlite: install
	@echo "=== test suite on SQLite ==="
	env -u DATABASE_URL VINCULO_TASKS_BACKEND=immediate .venv/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

test-pg: install
	@echo "=== test suite on PostgreSQL ==="
	DATABASE_URL=$(PG_URL)_$$$$ VINCULO_TASKS_BACKEND=immediate .venv/bin/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

e2e: install ## only the Playwright browser journeys
	env -u DATABASE_URL VINCULO_TASKS_BACKEND=immediate .venv/bin/pytest -m e2e tests/e2e

lint: install ## ruff, migrations check, import layering
	.venv/bin/ruff check vinculo tests bench
	.venv/bin/ruff format --check vinculo tests bench
	$(VINCULO) makemigrations --check --dry-run
	.venv/bin/lint-imports

format: install
	.venv/bin/ruff check --fix vinculo tests bench
	.venv/bin/ruff format vinculo tests bench

messages: install ## update the Spanish catalog, compile it, fail if a string lacks a translation
	cd vinculo && ../$(VINCULO) makemessages -l es --no-obsolete --no-location -i "static/vendor/*"
	cd vinculo && ../$(VINCULO) compilemessages -l es
	$(VINCULO) check_translations

bench: install ## seed once, then measure page latency, ETL and model figures
	$(PY) bench/run.py
	$(PY) bench/bench_warehouse.py
	$(MAKE) --no-print-directory bench-analytics

bench-analytics: install ## CLV (1M customers) vs lifetimes, basket rules vs mlxtend
	$(PY) bench/bench_clv.py
	$(PY) bench/bench_basket.py

clean:
	rm -rf .venv var frontend/node_modules vinculo/static/vendor
