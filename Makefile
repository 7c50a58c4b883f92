# The two Quickstart commands of the README, each doing its own set-up first:
#   make demo   train KEM on the demo data, evaluate, print metrics, write PNG panels
#   make test   lint and run the test suite
# The environment lives in $(MMKEM_VENV) (default ~/.venvs/mmkem); `make env` creates or checks it.
export MMKEM_VENV ?= $(HOME)/.venvs/mmkem
PYTHON := $(MMKEM_VENV)/bin/python
ifeq ($(MMKEM_VENV),system)
PYTHON := python3
endif

.PHONY: env demo test lint format

env:
	@bash tools/setup_env.sh

demo: env
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

lint: env
	$(PYTHON) -m ruff check .

format: env
	$(PYTHON) -m ruff format .

test: lint
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)
