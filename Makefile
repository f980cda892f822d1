# cpts_diag — set-up and main jobs. Only needs Python 3.11+, pip and make.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp
OPENDATA ?= ../shared/opendata

LOCK_VENV ?= .venv-lock

.PHONY: install demo test test-fast lint lock data bench browser-deps clean-reports help

help:
	@echo "make demo   : installe le projet et lance le travail principal sur les données PACA embarquées"
	@echo "make test   : installe le projet et lance toute la suite de tests"
	@echo "make test-fast : la boucle rapide : tous les tests sauf noyaux Jupyter, navigateur et cluster Dask"
	@echo "make lint   : vérifie le code, sa mise en forme (ruff) et ses types (mypy)"
	@echo "make lock   : recalcule constraints.txt (versions exactes installées par make)"
	@echo "make data   : reconstruit data/ depuis les données ouvertes ($(OPENDATA))"
	@echo "make bench  : lance les mesures de performance (benchmarks/)"

# constraints.txt pins the exact versions the test suite passed with (regenerate with `make lock`).
# pip --quiet prints only warnings and errors (and fails loudly); the build itself prints nothing (setup.py).
PIP = $(PY) -m pip --quiet --disable-pip-version-check
$(STAMP): pyproject.toml setup.py MANIFEST.in constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -c constraints.txt -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/cpts-diag demo

# Chromium + ChromeDriver for the real-browser tests, pdftotext (poppler-utils) to read the pages they print
# (Debian packages); skipped when not root.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installation de chromium, chromium-driver et poppler-utils (tests navigateur)…"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null; \
	else echo "chromium ou pdftotext absent et pas de droits root : les tests navigateur concernés seront sautés."; fi

test: install browser-deps
	$(PY) -m pytest

# The quick loop while developing: no Jupyter kernel (papermill, warm kernels, batches), no browser, no Dask
# cluster, no wheel build (markers: pyproject.toml; kernel and cluster set by tests/conftest.py), on every core
# (pytest-xdist). CI runs make test.
test-fast: install
	$(PY) -m pytest -q -n auto -m "not slow and not kernel and not browser and not cluster"

# Lint, format and type checks (ruff and mypy, configured in pyproject.toml); `ruff format .` fixes the format.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Re-resolve constraints.txt from pyproject.toml (dependencies + the test extra, which includes dask[distributed])
# with uv in a throwaway venv. Pins already in constraints.txt are kept when still valid; to move to the newest
# versions: make lock LOCK_FLAGS=--upgrade. Then run make lint test before committing the new lock.
# --python-version 3.11: the oldest Python the project supports, so the lock installs on every 3.11+.
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet uv
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 $(LOCK_FLAGS) -o constraints.txt

data: install
	$(VENV)/bin/cpts-diag data build --source $(OPENDATA)

bench: install
	$(PY) benchmarks/run_all.py --opendata $(OPENDATA)

clean-reports:
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
