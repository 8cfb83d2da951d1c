# Quick start: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: help run test lint format init-db messages clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@echo "==> Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip shows its progress (one line per package): the first install takes a few minutes.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	@echo "==> Installing the hub's packages (first time: a few minutes)"
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	@echo "==> Installing the hub's packages and the test tools (first time: a few minutes)"
	$(BIN)/pip install -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# Demo mode is on for the quick start; HUB_DEMO_MODE=0 make run serves an empty hub.
run: export HUB_DEMO_MODE ?= 1
# An illustrative IATI reporting-org (XE-EXAMPLE: org-id.guide's list for examples) so
# the demo's IATI export can be tried; a deployment sets its own (issue 15).
run: export HUB_IATI_REPORTING_ORG_REF ?= XE-EXAMPLE-DEMO-OFFICE
run: export HUB_IATI_REPORTING_ORG_NAME ?= Coordination office (demo)
run: $(VENV)/.runtime ## Migrate, load demo data on first start, serve on 127.0.0.1:8501 (HOST, PORT)
	@echo "==> Migrating the database (and loading the demo data on first start)"
	$(BIN)/python -m hub init-db
	@echo "==> Serving. Public site: http://$(HOST):$(PORT)/  Workspace: http://$(HOST):$(PORT)/app/  Sign in: http://$(HOST):$(PORT)/signin"
	$(BIN)/streamlit run asgi_app.py --server.address $(HOST) --server.port $(PORT)

# The Nu HTML Checker (vnu-jar from the npm registry, run with Java) checks the public
# pages; without npm the test skips locally (and fails under CI=true).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --ignore-scripts && touch $@; \
	else echo "npm not found: the Nu HTML Checker test will skip"; fi

test: $(VENV)/.dev node_modules/.installed ## Run the whole test suite (PostgreSQL tests need HUB_TEST_POSTGRES_URL)
	$(BIN)/python -m pytest

lint: $(VENV)/.dev ## ruff (lint + format check) and mypy on the domain packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

init-db: $(VENV)/.runtime ## Create or upgrade the database schema
	$(BIN)/python -m hub init-db

clean: ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

messages: $(VENV)/.dev ## Extract _() strings and merge them into locales/pt (then translate)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output \
		--ignore-dirs=".venv tests benchmarks migrations node_modules" -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -l pt --no-fuzzy-matching --ignore-obsolete
