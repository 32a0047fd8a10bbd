# Two commands do all the set-up on a fresh machine:
#   make run    creates .venv, installs runtree, starts `runtree serve` on SQLite
#   make test   creates .venv, installs runtree with its dev tools, runs the whole suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The tracking core also runs on these interpreters (their AST differs); CI tests it on each.
EXTRA_PYTHONS ?= 3.12 3.13

.PHONY: install run test test-quick test-core-pythons lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/runtree serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

test-quick: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not postgres and not browser"

test: $(STAMP) lint
	$(BIN)/pytest -q
	$(MAKE) test-core-pythons

# The core (instrument + tracking) on every supported CPython, each in its own virtualenv.
test-core-pythons:
	@for v in $(EXTRA_PYTHONS); do \
	  py=$$(command -v python$$v || ls -d $$HOME/.pyenv/versions/$$v*/bin/python 2>/dev/null | head -1); \
	  if [ -z "$$py" ]; then echo "python$$v not found"; exit 1; fi; \
	  if [ ! -x .venv-$$v/bin/pytest ]; then \
	    $$py -m venv .venv-$$v && .venv-$$v/bin/pip install --quiet -e '.[dev]' || exit 1; \
	  fi; \
	  echo "== core tests on Python $$v"; \
	  .venv-$$v/bin/pytest -q -p no:cacheprovider tests/tracking tests/instrument || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python bench/tracking_overhead.py

clean:
	rm -rf $(VENV) .venv-3.* .pytest_cache .mypy_cache .ruff_cache
