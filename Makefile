# Two commands for a fresh machine: `make serve` (the plugin on localhost against demo apps) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5002

.PHONY: setup browser serve lint test bench clean

# `serve` needs only the Python environment; the browser and the Node clients are for the tests, and
# only where those tests exist (a plugin made with `devkit new` has neither).
BROWSER_TESTS := $(wildcard tests/test_*browser.py)
JS_CLIENTS := $(if $(wildcard tests/js/package-lock.json),tests/js/node_modules/.package-lock.json)

setup: $(if $(BROWSER_TESTS),browser) $(JS_CLIENTS) $(VENV)/.installed

# Headless Chromium and its driver for the playground's browser tests (Debian packages; CI runs as root).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

# The Node clients the tests run against Duck (the openai package, the AI SDK), pinned by package-lock.json.
tests/js/node_modules/.package-lock.json: tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund

# The dev kit is its own project (devkit/pyproject.toml), installed editable: the `devkit` command.
$(VENV)/.installed: requirements.txt requirements-dev.txt devkit/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "dify_plugin 0.10.2 needs Python 3.12 or newer; found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./devkit
	@touch $@

serve: $(VENV)/.installed
	$(PY) -m devkit serve . --port $(PORT)

# ruff lints and formats everything (ruff.toml); mypy checks the library (mypy.ini).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup lint
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts tests/js/node_modules
