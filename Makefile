# One entry point per task; every target installs what it needs first, so a fresh clone works.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-sqlite bench clean

$(BIN)/tongban: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(BIN)/tongban node_modules/.package-lock.json

run: install
	$(BIN)/tongban run

test: install
	$(BIN)/pytest -n 2

test-sqlite: install
	$(BIN)/pytest --db=sqlite

bench: install
	$(BIN)/tongban bench

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
