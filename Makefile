# Pulseboard: `make demo` runs it, `make test` checks it. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup setup-dev system-packages demo test lint test-python test-js test-contracts cluster clean mutate

## setup: create .venv, install Python and npm packages, copy front-end files (idempotent)
setup: $(STAMPS)/python $(STAMPS)/npm

$(STAMPS)/python: requirements.txt
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(STAMPS)/python-dev: requirements-dev.txt $(STAMPS)/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(STAMPS)/npm: package.json package-lock.json scripts/vendor.mjs
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	node scripts/vendor.mjs
	@touch $@

setup-dev: setup $(STAMPS)/python-dev system-packages

## system-packages: redis-server, mosquitto and Debian's Chromium for the tests, when missing
system-packages:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/sbin/mosquitto || missing="$$missing mosquitto"; \
	command -v mosquitto_pub >/dev/null || missing="$$missing mosquitto-clients"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

## demo: migrate, seed demo data and serve on $(HOST):$(PORT) with the producer in-process;
## on loopback the login is demo / demo, bound elsewhere (HOST=0.0.0.0) a new random one each start
demo: export PULSEBOARD_DEMO := 1
demo: setup
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed --new-passwords --urls
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

## test: every check: ruff, mypy, node --test, pytest (SQLite, or DATABASE_URL)
test: setup-dev lint test-js test-python

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test-js:
	node --test tests/js/

# Tests run on every core (each worker starts its own server for the e2e tests).
# A filter that selects no test fails (pytest exits 5): a green run must have run something.
PYTEST_ARGS ?= -n auto
test-python:
	$(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

## test-contracts: the contract checks alone (test-python runs them too): OpenAPI and
## AsyncAPI documents, schemathesis (≤ 60 s) and a socket fuzz against a real server,
## html-validate on every page
CONTRACT_TESTS := tests/test_openapi.py tests/test_asyncapi.py tests/test_html_valid.py tests/e2e/test_fuzz.py
test-contracts: setup-dev
	$(VENV)/bin/pytest -p no:cacheprovider $(CONTRACT_TESTS)

## mutate: mutation testing (mutmut) of the modules that carry the product's promises,
## each mutant against the fast tests that reach it, then the score per module
## (docs/testing.md). A habit, not a gate: not part of `make test` or CI.
## MUTATE="streams.access" for one module; results stay in mutants/ for the next run.
MUTATE ?= dashboards.access streams.access streams.history.query streams.history.rollups \
	streams.http.export streams.producer.values streams.producer.ingest streams.live.catchup \
	alerts.evaluation
MUTATE_JOBS ?= 2
MUTATE_TIMEOUT ?= 1800
mutate: setup-dev
	@for module in $(MUTATE); do \
	  echo "== $$module"; \
	  timeout $(MUTATE_TIMEOUT) $(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS) "$$module.*" \
	    || echo "$$module: mutmut stopped early (exit $$?)"; \
	done
	@$(PY) scripts/mutation_score.py

## cluster: Redis + two web processes + a worker + the alerts worker on this machine (docs/operations.md)
cluster: setup
	bash scripts/cluster.sh

clean:
	rm -rf $(VENV) node_modules static/vendor $(STAMPS) staticfiles
