# The two commands a developer needs (see README.md):
#   make dev    the back office on its local stack (PORT=8000 by default)
#   make test   build the environment from the lock file and run every check
# Both set up everything they need on a fresh machine with Python 3.13.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8000
UV_VERSION := 0.13.9
PYTHON := $(shell scripts/find-python)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Debian packages the tests need: Chromium for the admin's browser tests (Playwright drives
# it; Playwright never downloads a browser of its own).
APT_PACKAGES := chromium

.PHONY: help dev manage test lint format env system-packages bench faults clean deploy-env collectstatic package \
	storefront-deps storefront-build storefront-client rehearsal test-pure

help:
	@echo "make dev    run the back office locally on its embedded stack (PORT=$(PORT))"
	@echo "make manage ARGS=\"createstaff ...\"  a management command against the running make dev"
	@echo "make test   install everything from the lock file and run lint and the tests"
	@echo "make test-pure  only the tests that need no server (seconds; tests/README.md)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make faults every money flow with a fault at every request (bench/faults.py, long)"
	@echo "make storefront-build   build the reference checkout into storefront/dist (docs/deploy.md)"
	@echo "make storefront-client  regenerate storefront/openapi.json and the typed client from the API"
	@echo "make rehearsal  only the deploy rehearsal (tests/rehearsal/, also part of make test)"
	@echo "make package STAGE=prod        build the Lambda package offline into build/ (docs/deploy.md)"
	@echo "make collectstatic STAGE=prod  upload static files to the stage's S3 bucket (AWS credentials)"

$(UV):
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The environment is exactly the lock file: runtime plus development groups.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON) --all-groups
	@touch $@

env: $(VENV)/.synced

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Node 20+ and npm for storefront/: Debian's packages when absent (nodesource's nodejs
	@# carries its own npm, so only a machine with neither installs both).
	@command -v npm >/dev/null || { \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends nodejs npm; }

# The reference checkout is built when Node/npm are there (make test installs them); without
# them the back office runs alone and the banner says the storefront was not built.
dev: env
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory storefront-build; \
	else echo "npm not found: the reference checkout is not built (install Node 20+ for it)"; fi
	$(VENV)/bin/python -m devstack --port $(PORT)

# A management command against the running `make dev` stack: make manage ARGS="createstaff"
manage: env
	$(VENV)/bin/python -m devstack manage $(ARGS)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/actionlint
	$(VENV)/bin/zizmor --offline --persona=pedantic .github/workflows

format: env
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Two workers (pytest-xdist), each with its own local stack; the tests that build the Lambda
# package share one (tests/conftest.py). The deploy rehearsal then runs on its own: it records
# every request each role makes, in one process.
test: env system-packages storefront-deps lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup --ignore=tests/rehearsal
	$(VENV)/bin/pytest tests/rehearsal

# The pure tier: every test that needs no server runs, the others are skipped and no server
# starts (tests/README.md). ARGS narrows it, e.g. make test-pure ARGS=tests/orders
test-pure: env
	TESTS_WITHOUT_SERVERS=1 $(VENV)/bin/pytest $(ARGS)

# --- The storefront's reference checkout and typed client (storefront/README.md) ------------
STOREFRONT_DEPS := storefront/node_modules/.package-lock.json

# Exactly package-lock.json; npm writes node_modules/.package-lock.json, our stamp.
$(STOREFRONT_DEPS): storefront/package.json storefront/package-lock.json
	cd storefront && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

storefront-deps: $(STOREFRONT_DEPS)

# The artefact for the storefront bucket: storefront/dist (docs/deploy.md uploads it).
storefront-build: storefront-deps
	cd storefront && npm run --silent build

# After changing the API: the OpenAPI document as the client sees it, and its types.
storefront-client: env storefront-deps
	DJANGO_SECRET_KEY=schema-only $(VENV)/bin/python manage.py spectacular --format openapi-json --file storefront/openapi.json
	cd storefront && npm run --silent generate

# terraform apply + zappa deploy against the emulator, the app under the Lambda role with IAM
# enforced (docs/deploy.md, "The rehearsal"); skipped with the reason without terraform.
rehearsal: env deploy-env
	$(VENV)/bin/pytest tests/rehearsal -q -rs

BENCHMARKS := coldstart orders webhooks fulfillment admin onsale
# Arguments per benchmark: the on-sale's 10x goal is reported, not enforced, on a busy machine
# (its seat count is always enforced).
BENCH_ARGS_onsale := --goal-advisory

bench: env
	@set -e; $(foreach name,$(BENCHMARKS),echo "== bench/$(name).py"; $(VENV)/bin/python bench/$(name).py $(BENCH_ARGS_$(name));)

# The full crash-consistency matrix (docs/failures.md); make test runs a sample of it.
faults: env
	$(VENV)/bin/python bench/faults.py $(ARGS)

# --- Deployment (docs/deploy.md) ------------------------------------------------------------
STAGE ?= prod
DEPLOY_VENV := .venv-deploy

# Runtime dependencies + Zappa, nothing from the dev group: what `zappa package` packs.
deploy-env: $(UV)
	UV_PROJECT_ENVIRONMENT=$(DEPLOY_VENV) $(UV) sync --frozen --python $(PYTHON) --no-default-groups --group deploy

collectstatic: env
	$(VENV)/bin/python -m deploy collectstatic --stage $(STAGE)

# Offline: no AWS, no PyPI. Needs staticmanifest/ from collectstatic (the zip hook checks).
package: env deploy-env
	UV=$(UV) $(VENV)/bin/python -m deploy package --stage $(STAGE) --output build/ticketstoheaven-$(STAGE).zip

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) $(TOOLS) staticfiles build storefront/node_modules storefront/dist
