# segmix — two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export DEBUG ?= 1

.PHONY: run test bench lint format clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Start web + Celery worker on the embedded defaults (SQLite under var/, local Redis).
run: $(VENV)/.installed
	scripts/run_local.sh

# The suite runs on both databases segmix supports: PostgreSQL (production) for everything,
# then SQLite (the embedded default) for all but what needs a database server (the `postgres`
# marker), the end-to-end stack (it makes a PostgreSQL database of its own either way) and the
# engine and destination tests, which use no database at all.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/segmix
TEST_SQLITE_URL ?= sqlite:///var/test/segmix.sqlite3

## Everything the tests need, then the whole suite.
test: $(VENV)/.installed
	scripts/ensure_postgres.sh
	scripts/ensure_redis.sh
	scripts/ensure_chromium.sh
	$(VENV)/bin/ruff check .
	DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest
	DATABASE_URL=$(TEST_SQLITE_URL) $(PY) -m pytest -m "not postgres" --ignore=tests/e2e \
		--ignore=tests/engine --ignore=tests/destinations

## Benchmarks; numbers go to docs/benchmarks.md.
bench: $(VENV)/.installed
	scripts/ensure_redis.sh
	$(PY) -m bench

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
