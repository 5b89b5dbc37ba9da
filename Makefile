# Helpa: `make run` starts everything on this machine, `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint bench install messages clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/helpa migrate --noinput
	$(BIN)/helpa demo_data
	$(BIN)/helpa collectstatic --noinput --verbosity 0
	$(BIN)/helpa serve

test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check helpa $(wildcard bench)
	$(BIN)/ruff format --check helpa $(wildcard bench)

bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.mail
	$(BIN)/python -m bench.rules --keep
	$(BIN)/python -m bench.timereport --keep
	$(BIN)/python -m bench.stats --keep

# Refresh the translation catalogue after changing user-visible strings (needs GNU gettext).
messages: install
	cd helpa && ../$(BIN)/helpa makemessages -l sv --no-obsolete --no-location
	cd helpa && ../$(BIN)/helpa compilemessages

clean:
	rm -rf $(VENV) var
