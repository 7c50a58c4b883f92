# The two Quickstart commands of the README, each doing its own set-up first:
#   make demo   train KEM on the demo data, evaluate, print metrics, write PNG panels
#   make test   lint and run the test suite
#   make gpu-bundle   (with the package index) the offline bundle of the GPU check, .gpu_check/
#   make gpu-check    (on a CUDA machine) set-up from the bundle and every CUDA check, one table
# The environment lives in $(MMKEM_VENV) (default ~/.venvs/mmkem); `make env` creates or checks it.
export MMKEM_VENV ?= $(HOME)/.venvs/mmkem
PYTHON := $(MMKEM_VENV)/bin/python
ifeq ($(MMKEM_VENV),system)
PYTHON := python3
endif

.PHONY: env demo test lint format gpu-bundle gpu-check

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

# No environment needed: the GPU check sets up its own from the bundle (docs/gpu.md).
gpu-bundle: env
	$(PYTHON) tools/gpu_check.py prepare

gpu-check:
	bash tools/gpu_check.sh $(GPU_CHECK_OUT)
