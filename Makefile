# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs runtree, starts `runtree serve` on SQLite
#   make test   creates .venv, installs runtree with its dev tools, runs the whole suite
#
# The Python is the first supported one (3.11-3.13) on PATH that runs: python3.11,
# python3.12, python3.13, then python3. PYTHON=/path/to/python overrides.
SUPPORTED_VERSIONS := 3.11 3.12 3.13
SUPPORTED_CHECK := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in $(foreach v,$(SUPPORTED_VERSIONS),python$(v)) python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c '$(SUPPORTED_CHECK)' 2>/dev/null && { command -v $$p; break; }; \
  done)
endif
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The tracking core also runs on the other supported interpreters (their AST differs); CI tests
# it on each (elsewhere a missing one is skipped with a note; REQUIRE_ALL_PYTHONS=1 or CI=true
# make it an error).
EXTRA_PYTHONS ?= $(filter-out $(PYTHON_VERSION),$(SUPPORTED_VERSIONS))
# The tracking hooks run in C (src/runtree/tracking/_hooks.c, built by `pip install -e .` when
# a C compiler is there) or in pure Python; `make test` runs the tracking suite on both and
# insists on C (TRACKING_RUNTIME=auto to accept a machine without a compiler).
TRACKING_RUNTIME ?= c
# The suite runs in parallel (pytest-xdist), one test process per core by default (tests are
# written to share nothing: tmp paths, free ports, random database names, host-wide slot-uid
# locks). Whole modules (whose fixtures then start their servers once) are handed out in order
# as processes free up, the longest first (tests/conftest.py). TEST_JOBS=N sets the number of
# processes, TEST_JOBS=0 runs in one.
TEST_JOBS ?= auto
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadscope)
HOOKS_C := src/runtree/tracking/_hooks.c
# Exits 0 when this checkout's C hooks load in the Python running it (workers import runtree
# from src/, so the sandbox's Python needs a build of its own when its version differs).
HOOKS_CHECK := import os, sys; os.environ["RUNTREE_TRACKING_RUNTIME"] = "c"; sys.path.insert(0, "src"); import runtree.tracking.runtime

.PHONY: docs install runtime run test test-quick test-browser browser-deps test-core-pythons lint bench clean

$(STAMP): pyproject.toml setup.py $(HOOKS_C)
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(SUPPORTED_CHECK)' 2>/dev/null; then \
	  echo "no supported Python (3.11, 3.12 or 3.13) found$(if $(PYTHON), ($(PYTHON) is not one)): install one, or set PYTHON=/path/to/python3.X"; \
	  exit 1; \
	fi
	@echo "using $(PYTHON) (Python $(PYTHON_VERSION))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) runtime

# The sandbox (README, "Security model") runs user code as per-slot uids, which cannot read a
# Python under a 0700 home directory (pyenv's /root/.pyenv). As root, this builds the Python
# that runs user code: a world-readable venv at $(RUNTIME) from the system's Python of the same
# version as $(PYTHON) (/usr/bin/python3.X; else the first supported one there), with the
# packages workers need (install your functions' packages there too), plus the sandbox's state
# directory. Idempotent and never destructive (servers may be running from it): the venv is
# created when missing, the packages installed when the stamp says they changed
# (rm -rf $(RUNTIME) to rebuild from scratch). Not root: nothing to build -- functions run in
# .venv's own Python, sandboxed without uid separation (README, "Security model"); this says
# so and checks that libseccomp, which that mode needs too, is there.
RUNTIME ?= /opt/runtree/venv
RUNTIME_PYTHON ?= $(firstword $(wildcard /usr/bin/python$(PYTHON_VERSION)) $(wildcard $(foreach v,$(SUPPORTED_VERSIONS),/usr/bin/python$(v))))
RUNTIME_VERSION = $(patsubst /usr/bin/python%,%,$(RUNTIME_PYTHON))
# vcrpy and time-machine (deterministic replay) with what they need; requests and httpx for
# functions (and the replay tests) that call HTTP.
RUNTIME_PACKAGES := dill==0.4.1 pyseccomp==0.1.2 landlock==1.0.0.dev5 vcrpy==9.4.2 PyYAML==6.0.4 \
  wrapt==2.5.2 requests==2.34.2 urllib3==2.8.0 httpx==0.29.0 time-machine==3.6.0
RUNTIME_STAMP := $(RUNTIME)/.runtree-runtime
STATE_DIR ?= /var/lib/runtree
runtime:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "not root: functions will run in this venv's Python, sandboxed without uid separation"; \
	  echo "  (Landlock, seccomp, rlimits; no subprocesses, no network: see runtree doctor)."; \
	  echo "  As root, make runtime builds $(RUNTIME) for per-run uids."; \
	  if ! PATH="$$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then \
	    echo "  libseccomp2 is missing: the sandbox needs it (as root: apt-get install libseccomp2)"; \
	  fi; \
	elif [ -z "$(RUNTIME_PYTHON)" ]; then \
	  echo "no system Python 3.11-3.13 in /usr/bin for the sandbox runtime (apt-get install python3 python3-venv)"; exit 1; \
	elif [ "$$(cat $(RUNTIME_STAMP) 2>/dev/null)" != "$(RUNTIME_PYTHON) $(RUNTIME_PACKAGES)" ]; then \
	  echo "installing the sandbox runtime in $(RUNTIME) from $(RUNTIME_PYTHON)"; \
	  if ! $(RUNTIME_PYTHON) -c 'import ensurepip, venv' 2>/dev/null \
	     || ! ldconfig -p | grep -q 'libseccomp\.so\.2'; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python$(RUNTIME_VERSION)-venv libseccomp2 >/dev/null \
	      || { echo "could not install python$(RUNTIME_VERSION)-venv and libseccomp2"; exit 1; }; \
	  fi; \
	  umask 022; \
	  { [ -x $(RUNTIME)/bin/python ] || $(RUNTIME_PYTHON) -m venv $(RUNTIME); } \
	    && $(RUNTIME)/bin/python -m pip install --quiet --disable-pip-version-check $(RUNTIME_PACKAGES) \
	    && chmod -R a+rX $(dir $(RUNTIME)) \
	    && echo "$(RUNTIME_PYTHON) $(RUNTIME_PACKAGES)" > $(RUNTIME_STAMP) \
	    || { echo "could not build $(RUNTIME)"; exit 1; }; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then install -d -m 0711 $(STATE_DIR) $(STATE_DIR)/jobs && install -d -m 0700 $(STATE_DIR)/uids; fi; \
	if [ "$$(id -u)" = 0 ] && [ -x $(RUNTIME)/bin/python ] \
	   && ! $(RUNTIME)/bin/python -I -c '$(HOOKS_CHECK)' 2>/dev/null; then \
	  echo "building the C tracking hooks for $(RUNTIME)'s Python"; \
	  { $(RUNTIME)/bin/python -c 'import setup; setup.build_hooks_in_place()' >/dev/null 2>&1 \
	    && chmod a+rX src/runtree/tracking/_hooks*.so; } \
	    || echo "could not build them: workers there run the pure-Python hooks (runtree doctor says which)"; \
	fi

run: $(STAMP) runtime
	$(BIN)/runtree serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test-quick: $(STAMP) runtime
	$(BIN)/pytest -q $(PYTEST_PARALLEL) -m "not slow and not postgres and not browser"

test: $(STAMP) runtime lint browser-deps
	RUNTREE_TRACKING_RUNTIME=$(TRACKING_RUNTIME) $(BIN)/pytest -q $(PYTEST_PARALLEL)
	RUNTREE_TRACKING_RUNTIME=python $(BIN)/pytest -q $(PYTEST_PARALLEL) -p no:cacheprovider \
	  tests/tracking tests/instrument
	$(MAKE) test-core-pythons

# The browser tests (tests/ui, marked `browser`) drive Debian's Chromium through Playwright;
# no browser build is ever downloaded (never run `playwright install`). As root (CI) the
# package is installed when missing; elsewhere the tests skip and say why.
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || { echo "could not install chromium"; exit 1; }; \
	  else \
	    echo "$(CHROMIUM) is missing: the browser tests will skip (as root: apt-get install chromium)"; \
	  fi; \
	fi

test-browser: $(STAMP) browser-deps
	$(BIN)/pytest -q -m browser

# The core (instrument + tracking) on every supported CPython, each in its own virtualenv,
# with the C hooks (rebuilt when _hooks.c changed) and with the pure-Python ones.
test-core-pythons:
	@for v in $(EXTRA_PYTHONS); do \
	  py=$$(ls -d $$HOME/.pyenv/versions/$$v*/bin/python 2>/dev/null | head -1); \
	  if [ -z "$$py" ] && python$$v -c pass 2>/dev/null; then py=$$(command -v python$$v); fi; \
	  if [ -z "$$py" ]; then \
	    if [ -n "$(REQUIRE_ALL_PYTHONS)$(filter true,$(CI))" ]; then echo "python$$v not found"; exit 1; fi; \
	    echo "python$$v not found: the core tests on it are skipped (CI requires it)"; continue; \
	  fi; \
	  if [ ! -x .venv-$$v/bin/pytest ] || ! .venv-$$v/bin/python -c 'import xdist' 2>/dev/null; then \
	    $$py -m venv .venv-$$v && .venv-$$v/bin/pip install --quiet -e . \
	      'pytest>=8.0' 'pytest-timeout>=2.3' 'pytest-xdist>=3.6' 'hypothesis>=6.100' || exit 1; \
	    touch .venv-$$v/.hooks-built; \
	  fi; \
	  if [ ! -e .venv-$$v/.hooks-built ] || [ $(HOOKS_C) -nt .venv-$$v/.hooks-built ] \
	     || [ setup.py -nt .venv-$$v/.hooks-built ]; then \
	    .venv-$$v/bin/pip install --quiet --no-deps -e . && touch .venv-$$v/.hooks-built || exit 1; \
	  fi; \
	  for hooks in $(TRACKING_RUNTIME) python; do \
	    echo "== core tests on Python $$v, $$hooks hooks"; \
	    RUNTREE_TRACKING_RUNTIME=$$hooks .venv-$$v/bin/pytest -q $(PYTEST_PARALLEL) \
	      -p no:cacheprovider tests/tracking tests/instrument || exit 1; \
	  done; \
	done

bench: $(STAMP)
	$(BIN)/python bench/tracking_overhead.py

# docs/cli.md is generated from the CLI itself (a test fails when it is out of date).
docs: $(STAMP)
	$(BIN)/python -m runtree.cli.reference docs/cli.md

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache build src/runtree/tracking/*.so
