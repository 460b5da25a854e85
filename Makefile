# swarmops.core — the two commands: `make site` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     ?= .venv
PY       := $(VENV)/bin/python
BIN      := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
PYTEST_ARGS ?=
SANITY_DIR := build/ansible_collections/swarmops/core

.PHONY: help bootstrap venv engine lab lab-down site plan test test-plan test-vm lint sanity unit integration e2e molecule bench build clean

help:
	@echo "make site        - bring up the local lab and run site.yml (hosts -> engine -> swarm -> registry -> images -> stack -> verify)"
	@echo "make plan        - what make site would change (site.yml --check --diff), changing nothing"
	@echo "make test        - lint, unit, integration and end-to-end tests (30+ minutes)"
	@echo "make unit        - unit tests (pure logic, no Docker; seconds)"
	@echo "make integration - integration tests: every module against the local Docker Engine"
	@echo "make e2e         - end-to-end tests: every molecule scenario on lab hosts"
	@echo "make test-plan   - opt-in: make plan vs the real run that follows, per scenario, on the default lab (~17 min quiet)"
	@echo "make test-vm     - opt-in: QEMU tests that boot real VMs, the whole site on one (TCG on a shared 2-core machine: ~1 h, +6 min for the first base build)"
	@echo "make molecule    - one molecule scenario: make molecule SCENARIO=swarm (default: default)"
	@echo "make lab         - bring the lab hosts up;  make lab-down - remove every lab container, network and volume"
	@echo "make lint        - ansible-lint (production profile) + ansible-test sanity"
	@echo "make sanity      - ansible-test sanity only"
	@echo "make bench       - side-by-side benchmarks (bench/)"
	@echo "make build       - build the collection tarball"
	@echo "make clean       - remove build/ and test caches"
	@echo "make bootstrap, make venv, make engine - controller packages, .venv, the local Docker Engine (the targets above run them)"

bootstrap:
	@tools/bootstrap-controller.sh

$(VENV)/.stamp: requirements.txt
	@tools/bootstrap-controller.sh
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.stamp

engine:
	@tools/ensure-engine.sh

lab: bootstrap venv engine
	$(BIN)/ansible-playbook playbooks/lab.yml

lab-down: venv engine
	$(BIN)/ansible-playbook playbooks/teardown.yml

site: bootstrap venv engine
	$(BIN)/ansible-playbook site.yml

# make plan PLAN_ARGS='-e stack_web_replicas=8': what that run would change.
plan: bootstrap venv engine
	$(BIN)/ansible-playbook site.yml --check --diff $(PLAN_ARGS)

lint: venv
	$(BIN)/ansible-lint --profile production
	$(MAKE) sanity

sanity: venv
	@# ansible-test downloads get-pip.py from a host we may not reach: cache a local stand-in.
	@pipver=$$(sed -n "s/^ *pip='\\([0-9.]*\\)',/\\1/p" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1); \
	  cache=$$HOME/.ansible/test/cache/get_pip_$${pipver//./_}.py; \
	  [ -f $$cache ] || { mkdir -p $$(dirname $$cache) && cp tools/ansible_test_get_pip.py $$cache; }
	@# tests/stacks/bad holds deliberately malformed compose files (alias bombs, 5000-digit ints): not for yamllint.
	rm -rf build/ansible_collections && mkdir -p $(SANITY_DIR)
	git ls-files -co --exclude-standard | grep -v -e '^\.collections/' -e '^tests/stacks/bad/' | tar -cf - -T - | tar -C $(SANITY_DIR) -xf -
	cd $(SANITY_DIR) && git init -q && git add -A && \
	  $(CURDIR)/$(BIN)/ansible-test sanity --python 3.11 --color no --skip-test pylint \
	    --skip-test import --requirements

unit: venv
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

integration: venv engine
	$(BIN)/pytest -q tests/integration $(PYTEST_ARGS)

e2e: venv engine
	$(BIN)/pytest -q tests/e2e $(PYTEST_ARGS)

# Not part of make test (CI's 45-minute aim): twelve site runs on the default lab, ~15 min.
test-plan: venv engine
	SWARMOPS_PLAN_E2E=1 $(BIN)/pytest -q tests/e2e/test_plan.py $(PYTEST_ARGS)

# Not part of make test: a real VM under TCG takes minutes (README, "Measured here").
test-vm: venv
	@SWARMOPS_QEMU=1 tools/bootstrap-controller.sh
	SWARMOPS_TEST_VM=1 $(BIN)/pytest -q tests/integration/test_qemu_vm.py $(PYTEST_ARGS)

SCENARIO ?= default
molecule: venv engine
	$(BIN)/molecule test -s $(SCENARIO)

test: venv engine
	@SWARMOPS_TEST_TOOLS=1 tools/bootstrap-controller.sh
	$(MAKE) lint
	$(BIN)/pytest tests $(PYTEST_ARGS)

bench: venv engine
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path build/

clean:
	rm -rf build .pytest_cache
