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

.PHONY: help dev manage test lint format env system-packages bench clean deploy-env collectstatic package

help:
	@echo "make dev    run the back office locally on its embedded stack (PORT=$(PORT))"
	@echo "make manage ARGS=\"createstaff ...\"  a management command against the running make dev"
	@echo "make test   install everything from the lock file and run lint and the tests"
	@echo "make bench  run the benchmarks in bench/"
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

dev: env
	$(VENV)/bin/python -m devstack --port $(PORT)

# A management command against the running `make dev` stack: make manage ARGS="createstaff"
manage: env
	$(VENV)/bin/python -m devstack manage $(ARGS)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: env
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: env system-packages lint
	$(VENV)/bin/pytest

BENCHMARKS := coldstart orders webhooks fulfillment admin onsale
# Arguments per benchmark: the on-sale's 10x goal is reported, not enforced, on a busy machine
# (its seat count is always enforced).
BENCH_ARGS_onsale := --goal-advisory

bench: env
	@set -e; $(foreach name,$(BENCHMARKS),echo "== bench/$(name).py"; $(VENV)/bin/python bench/$(name).py $(BENCH_ARGS_$(name));)

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
	rm -rf $(VENV) $(DEPLOY_VENV) $(TOOLS) staticfiles build
