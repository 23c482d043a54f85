# The project's whole workflow. Every target sets up what it needs from nothing.
SHELL := /bin/bash
# The Lambda runtime's Python, 3.13: on PATH, else any of pyenv's 3.13.x, else the system's python3 (then the test
# that runs `sam build` as the README shows fails, saying so: SAM builds the function with the runtime's Python).
FIND_PYTHON = -c 'import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)' 2>/dev/null
PYTHON ?= $(shell for p in python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3); do \
	$$p $(FIND_PYTHON) && exit 0; done; command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
CLI_VENV := .venv-cli
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test quick lint format typecheck template unit integration reliability build publish demo bench chaos stack mutants clean

dev: $(VENV)/.installed $(SAM_VENV)/.installed $(CLI_VENV)/.installed $(CHECKOV_VENV)/.installed

$(VENV)/.installed: requirements-dev.txt functions/tracker/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .   # the bedrock-tracker command
	touch $@

# aws-sam-cli pins boto3, click and pydantic tightly: it lives in a virtual environment of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

# The AWS CLI, for the test that drives the local stack as a user would; it pins botocore, so on its own too.
$(CLI_VENV)/.installed:
	$(PYTHON) -m venv $(CLI_VENV)
	$(CLI_VENV)/bin/pip install --quiet awscli
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(VENV)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

template: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(SAM) validate --template template.yaml
	$(SAM) validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules  # rules take every word after them
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --compact --quiet

TEST_ENV = SAM=$(abspath $(SAM)) AWS_CLI=$(abspath $(CLI_VENV))/bin/aws CHECKOV=$(abspath $(CHECKOV_VENV))/bin/checkov \
	PYTHON313=$(PYTHON)

# The function's code, lines and branches, as the whole suite reached it (95% on 2026-11-27): a change that leaves
# code untested fails make test. Raise it as the suite grows.
COVERAGE_FLOOR := 94

# One layer at a time (seconds to a few minutes each); `quick` is everything but the end-to-end runs.
unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit -q

integration: $(VENV)/.installed
	$(BIN)/pytest tests/integration -q

reliability: $(VENV)/.installed
	$(BIN)/pytest tests/reliability -q

quick: lint typecheck $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(TEST_ENV) $(BIN)/pytest -q -m "not slow"

test: lint typecheck $(SAM_VENV)/.installed $(CLI_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(TEST_ENV) $(BIN)/pytest -q --cov --cov-fail-under=$(COVERAGE_FLOOR)

# Each mutation of tests/mutants.py breaks a guarantee; the suite must fail on every one (a few minutes).
mutants: $(VENV)/.installed $(SAM_VENV)/.installed $(CLI_VENV)/.installed
	SAM=$(abspath $(SAM)) AWS_CLI=$(abspath $(CLI_VENV))/bin/aws PYTHON313=$(PYTHON) $(BIN)/python tests/mutants.py $(ARGS)

demo: $(VENV)/.installed
	$(BIN)/python -m localrun.demo $(ARGS)

bench: $(VENV)/.installed $(SAM_VENV)/.installed
	SAM=$(abspath $(SAM)) PYTHON313=$(PYTHON) $(BIN)/python -m bench.run $(ARGS)

# Seeded days on AWS's worst behaviour, every promise checked for every job (chaos/; about 20 minutes):
#   make chaos              # 200 seeds, the last line JSON
#   make chaos SEED=17      # one seed again, its broken promises with the events that led there
chaos: $(VENV)/.installed
	$(BIN)/python -m chaos $(if $(SEED),--seed $(SEED)) $(ARGS)

stack: $(VENV)/.installed
	$(BIN)/python -m localrun.serve $(ARGS)

build: $(SAM_VENV)/.installed
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM) build --template template.yaml

# To the Serverless Application Repository (needs AWS credentials; not run by the tests). First, offline, what SAR
# would refuse (localrun/sar_check.py: a resource type it does not publish, metadata it refuses, no LICENSE or
# README, a version already in sar-published.txt for the Region): nothing is built or sent then. SAR keeps no
# intrinsic functions in its metadata: where the publisher's copy lives is given here, and LICENSE and README.md go
# beside the built template, where `sam package` looks for them. A publish that succeeds is recorded in
# sar-published.txt (commit it). That record knows only this clone's publishes: `sam publish` is told to fail on a
# version SAR already holds (without --fail-on-same-version it only warns, exits 0, and nothing new is published).
#   make publish SOURCE_CODE_URL=https://github.com/you/bedrock-async-tracker [HOME_PAGE_URL=...] [REGION=...]
PUBLISH_REGION = $(or $(REGION),$(AWS_DEFAULT_REGION))
SAR_PUBLISHED ?= sar-published.txt
SAR_CHECK = $(BIN)/python -m localrun.sar_check --region $(PUBLISH_REGION) --published $(SAR_PUBLISHED)

publish: $(VENV)/.installed $(SAM_VENV)/.installed
	$(if $(SOURCE_CODE_URL),,$(error publish needs SOURCE_CODE_URL, the public address of this source))
	$(SAR_CHECK) template.yaml --source-code-url $(SOURCE_CODE_URL)
	$(MAKE) build
	cp LICENSE README.md .aws-sam/build/
	sed -i 's|^\( *\)SemanticVersion: .*|&\n\1HomePageUrl: $(or $(HOME_PAGE_URL),$(SOURCE_CODE_URL))\n\1SourceCodeUrl: $(SOURCE_CODE_URL)|' \
		.aws-sam/build/template.yaml
	$(SAR_CHECK) .aws-sam/build/template.yaml
	$(SAM) package --template-file .aws-sam/build/template.yaml --output-template-file .aws-sam/packaged.yaml \
		--resolve-s3 --region $(PUBLISH_REGION)
	$(SAM) publish --template .aws-sam/packaged.yaml --region $(PUBLISH_REGION) --fail-on-same-version
	$(SAR_CHECK) template.yaml --record

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CLI_VENV) $(CHECKOV_VENV) .aws-sam .demo .pytest_cache .mypy_cache .ruff_cache
