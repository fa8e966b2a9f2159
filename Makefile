# Consent Gateway: set-up, serve, test. Everything installs from the package registry.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GATEWAY_HOME ?= $(CURDIR)/var

.PHONY: install init run test lint demo bench clean

$(STAMP): pyproject.toml constraints.txt spacy-models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r spacy-models.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

init: install
	$(BIN)/gateway init

run: init
	$(BIN)/gateway serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A synthetic population through the real HTTP API, then the pipeline; in its
# own data directory (var/demo), so it can run again and leaves var/ alone.
demo: install
	$(BIN)/python -m gateway.demo

# One pytest process per logical CPU (at most four: each loads the NLP pipelines),
# each test file in one of them whole, so its module fixtures are built once.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n logical --maxprocesses 4 --dist loadfile

bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
