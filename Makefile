# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# `make run PORT=5001` when 5000 is taken.
PORT ?= 5000

.PHONY: run test axe crash-test translations clean

run: $(BIN)/.installed-run instance/config.toml
	$(BIN)/consent db upgrade
	$(BIN)/consent run --host 127.0.0.1 --port $(PORT)

# The tests run in parallel, one pytest-xdist worker per core (`make test PYTEST_WORKERS=0` for
# one process): each test has its own SQLite file or PostgreSQL schema, so none shares state.
PYTEST_WORKERS ?= auto

test: $(BIN)/.installed-test chromium axe
	$(BIN)/ruff check consent tests migrations
	$(BIN)/mypy consent
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(BIN)/.installed-run

# Fresh secrets on first start, never a placeholder; an existing file is left alone.
instance/config.toml: | $(BIN)/python
	mkdir -p instance
	$(BIN)/python -c 'import secrets; print(f"secret_key = \"{secrets.token_hex(32)}\"\nemail_lookup_key = \"{secrets.token_hex(32)}\"")' > $@.tmp
	chmod 600 $@.tmp
	mv $@.tmp $@
	@echo "Wrote $@ with new random secrets. Keep it: email_lookup_key must never change."

# The browser test drives Debian's Chromium (Playwright cannot download its own here).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)"; exit 1; \
	  fi; \
	fi

# axe-core, the accessibility checker the browser tests inject (tests/a11y.py): a test-only
# npm package, pinned in package.json and package-lock.json, installed in node_modules.
axe: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else \
	    echo "npm is missing (the browser tests need axe-core from it): run 'sudo apt-get install npm'"; exit 1; \
	  fi; \
	fi
	npm ci --silent --no-audit --no-fund
	touch $@

# The long crash run (docs/operations.md): 200 SIGKILLs on SQLite, then on PostgreSQL.
# Not part of `make test` (it takes minutes); the short run is tests/test_crash.py.
crash-test: $(BIN)/.installed-test
	$(BIN)/python -m tests.crash --kills 200 --database sqlite
	$(BIN)/python -m tests.crash --kills 200 --database "$${CONSENT_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

# Catalogue workflow: extract every string, merge into each language, compile.
translations: $(BIN)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o consent/translations/messages.pot --sort-by-file \
	  --project "Consent manager" --copyright-holder "Consent manager contributors" .
	$(BIN)/pybabel update -i consent/translations/messages.pot -d consent/translations --ignore-obsolete
	$(BIN)/pybabel compile -d consent/translations --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
