# The project's whole workflow. Every target sets up what it needs from nothing.
SHELL := /bin/bash
# The Lambda runtime's Python where pyenv has it (as on our machines), else the system's python3.
PYTHON ?= $(shell PYENV_VERSION=3.13.0 python3 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test lint typecheck template unit build demo bench clean

dev: $(VENV)/.installed $(SAM_VENV)/.installed

$(VENV)/.installed: requirements-dev.txt functions/tracker/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# aws-sam-cli pins boto3, click and pydantic tightly: it lives in a virtual environment of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

template: $(VENV)/.installed $(SAM_VENV)/.installed
	$(SAM) validate --template template.yaml
	$(SAM) validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit -q

test: lint typecheck $(SAM_VENV)/.installed
	SAM=$(abspath $(SAM)) $(BIN)/pytest -q

build: $(SAM_VENV)/.installed
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM) build --template template.yaml

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
