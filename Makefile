# Developer entry points. `make run` starts the demo, `make test` runs the test suite.
#
#   PYTHON=python3.11 make run     pick the interpreter the virtualenv is made from (3.11 or newer)
#   PORT=8080 make run             serve somewhere other than 127.0.0.1:8000
#   make test PYTEST_ARGS="-k deals -x"
#   make test PYTEST_WORKERS=0       run the suite in one process (default: 2 parallel workers, pytest-xdist)
#   make bench BENCH_SCALE=50000   needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/crm_bench)

PYTHON ?= python3
PORT ?= 8000
DEMO_PASSWORD ?= demo
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py

export DEMO_PASSWORD

.DEFAULT_GOAL := help
.PHONY: help venv install run migrate seed test bench lint messages clean

help:
	@echo "make run       install, migrate, load demo data and serve http://127.0.0.1:$(PORT)/"
	@echo "make test      install and run the test suite (PYTEST_ARGS=... to pass options to pytest)"
	@echo "make bench     run the benchmarks against PostgreSQL (BENCH_SCALE=N contacts)"
	@echo "make lint      ruff check"
	@echo "make messages  refresh and compile locale/ru and locale/uk (needs GNU gettext)"
	@echo "make clean     remove the virtualenv, the SQLite demo database and collected static files"

# The virtualenv, made once.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: run PYTHON=python3.11 make ...")'
	$(PYTHON) -m venv $(VENV)

# Dependencies, reinstalled only when pyproject.toml changes. The project itself has no
# importable package (`packages = []`), so this installs just the dependencies and the dev extra.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

venv: $(PY)

install: $(STAMP)

migrate: install
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo

run: seed
	@echo ""
	@echo "  CRM demo: http://127.0.0.1:$(PORT)/"
	@echo "  Log in as admin, head, manager1, manager2 or marketer; password: $(DEMO_PASSWORD)"
	@echo ""
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: install
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm_bench}" $(PY) -m bench $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# Developer only: needs GNU gettext (msgfmt, xgettext). The compiled .mo files are committed.
messages: install
	$(MANAGE) makemessages -l ru -l uk --ignore=.venv --ignore=staticfiles --ignore=media
	$(MANAGE) compilemessages -l ru -l uk --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
