# ci-metrics: `make demo` runs the pipeline on the bundled fake GitHub server,
# `make test` runs the whole suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/dagster_home

.PHONY: setup demo test lint format dev bench clean browser postgres reliability load-record serve \
	screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/ci-metrics demo

# The dashboard's browser test drives Debian's Chromium (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the dashboard's browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium; }

# The deployment test runs a throwaway server with Debian's initdb/pg_ctl (not on PATH there).
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the deployment test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends postgresql; }

test: setup lint browser postgres
	$(BIN)/pytest -n 2 --dist loadfile --timeout 900 $(PYTEST_ARGS)

# Runs tests/reliability and regenerates docs/reliability.md from what the cases measured.
reliability: setup browser
	$(BIN)/python -m tests.reliability.report --timeout 900 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dev: setup
	$(BIN)/ci-metrics dev

# The read-only explorer on http://127.0.0.1:8080/ (ci-metrics serve --help).
serve: setup
	$(BIN)/ci-metrics serve

# docs/screenshots/{dashboard,explorer}.png: the demo's store, its dashboard and the explorer
# over it on 127.0.0.1, photographed by headless Chromium (python -m reports.screenshots).
screenshots: setup browser
	$(BIN)/python -m reports.screenshots --out docs/screenshots

# Each benchmark prints its own figures; together they take about twenty minutes.
bench: setup
	$(BIN)/python benchmarks/extract.py
	$(BIN)/python benchmarks/ingest_junit.py
	$(BIN)/python benchmarks/kpi_build.py
	$(BIN)/python benchmarks/explorer.py --reuse
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/plugin_overhead.py
	$(BIN)/python benchmarks/load.py --runs-per-day 5

# The recorded load runs in docs/load/ (about an hour on 2 cores); `make reliability` shows them.
load-record: setup
	$(BIN)/python benchmarks/load.py --runs-per-day 2000 --days 7 --record docs/load/load-7d-2000-runs-a-day.json
	$(BIN)/python benchmarks/load.py --runs-per-day 200 --days 365 --record docs/load/load-365d-200-runs-a-day.json
	$(BIN)/python benchmarks/kpi_build.py --db data/bench/kpi_year.duckdb --scale 2.2 --render --record docs/load/kpi-build-year-2000-runs-a-day.json

clean:
	rm -rf $(VENV) data .pytest_cache
