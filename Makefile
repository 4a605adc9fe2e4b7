# Two commands a fresh machine needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-quick lint format bench simulator clean deploy-check

$(VENV)/.runtime: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.runtime
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) chatapp.asgi:application

test: $(VENV)/.dev
	sh scripts/ensure-packages.sh
	sh scripts/ensure-services.sh
	$(PY) -m pytest

# The edit-test loop: no browser, no services, no subprocess servers (a few minutes).
test-quick: $(VENV)/.dev
	$(PY) -m pytest -m "not browser and not deploy and not live"

# ruff, mypy (chatapp and interactions_client, see pyproject.toml) and ESLint on static/.
lint: $(VENV)/.dev node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	node_modules/.bin/eslint static

# ESLint, pinned in package-lock.json: test-only, never part of the app (node 18.18+, npm).
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make lint needs node and npm (scripts/ensure-packages.sh)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Figures, never pass/fail; about 8 minutes on 2 cores. Each script takes --quick.
bench: $(VENV)/.dev
	$(PY) bench/client.py
	$(PY) bench/relay.py
	$(PY) bench/history.py
	$(PY) bench/upload.py
	$(PY) bench/files_upload.py

deploy-check:
	bash scripts/deploy-check.sh

simulator: $(VENV)/.runtime
	$(PY) -m interactions_client.simulator --port 8765

clean:
	rm -rf $(VENV) var staticfiles
