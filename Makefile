# The platform's commands. Every target installs what it needs first, so any of them works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := $(sort $(wildcard services/*))
STAMP := $(VENV)/.installed

.PHONY: install system infra-up infra-down topics test run bench lint asyncapi

install: $(STAMP)

$(STAMP): requirements.in constraints.txt shared/pyproject.toml $(wildcard services/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -r requirements.in
	$(BIN)/pip install -q --no-deps -e shared $(addprefix -e ,$(SERVICES))
	touch $@

# Debian packages the tests need: PostgreSQL (the script installs it when missing) and Chromium.
system:
	infra/system-packages.sh

infra-up: install
	infra/kafka/kafka.sh start
	infra/postgres/postgres.sh start
	$(BIN)/nmd-topics provision

infra-down:
	-infra/kafka/kafka.sh stop
	-infra/kafka/kafka.sh stop --cluster
	-infra/postgres/postgres.sh stop

topics: install
	$(BIN)/nmd-topics provision

test: install system infra-up
	$(BIN)/python -m pytest

run: install
	infra/run.sh

bench: install infra-up
	infra/system-packages.sh bench
	$(BIN)/python -m bench.relay
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.newsletter

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

asyncapi: install
	$(BIN)/nmd-asyncapi
