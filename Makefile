# Every target sets up what it needs itself: a virtual environment in .venv
# with the project and its dev dependencies, and for the TypeScript tests the
# Node tools pinned in tests/typescript/package-lock.json.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-all lint generate check-generated node-deps bench clean

# The oldest and the newest Python autonats supports: make test runs the
# suite on each of them (lint and type checks run once, on $(PYTHON));
# make test-all runs it on every supported one.
OLDEST := 3.10
NEWEST := 3.13
SUPPORTED := 3.10 3.11 3.12 3.13

NODE_DIR := tests/typescript
NODE_STAMP := $(NODE_DIR)/node_modules/.installed-stamp

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "autonats needs Python 3.10+; run: make PYTHON=python3.X"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The TypeScript tests compile and run generated code with Node 20+ and the
# exact packages of the lock file.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' 2>/dev/null || \
		{ echo "the TypeScript tests need Node 20+ and npm on PATH"; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/autonats generate examples/users.py examples/users_v2.py
	cd examples && ../$(BIN)/python demo.py

generate: $(STAMP)
	$(BIN)/autonats generate examples/users.py examples/users_v2.py
	$(BIN)/autonats generate --lang ts examples/users.py -o examples/ts

# Every committed generated module, with the flags it was generated with.
check-generated: $(STAMP)
	$(BIN)/autonats generate --check examples/users.py examples/users_v2.py \
		benchmarks/echo.py benchmarks/feed.py \
		tests/runtime/rt_api.py tests/runtime/rt_legacy.py tests/runtime/rt_streams.py \
		tests/faults/flt_api.py \
		tests/versioning/ver_api.py tests/versioning/compat_old.py \
		tests/versioning/compat_new.py \
		tests/security/sec_api.py tests/typescript/ts_api.py \
		tests/resilience/res_api.py
	$(BIN)/autonats generate --check --lang ts examples/users.py -o examples/ts
	$(BIN)/autonats generate --check --tracing tests/observability/chain.py
	$(BIN)/autonats generate --check --tracing benchmarks/echo.py -o benchmarks/echo_traced_nats.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# In a random order (pytest-random-order prints the seed: rerun a failure
# with -p random_order --random-order-seed=N): tests must not depend on it.
PYTEST_ARGS := -p random_order --random-order

test: lint check-generated $(NODE_STAMP)
	$(MAKE) test-python-$(OLDEST) test-python-$(NEWEST)

test-all: lint check-generated $(NODE_STAMP) $(addprefix test-python-,$(SUPPORTED))

# A virtual environment per Python version (.venv-3.10, ...), found by
# tools/find-python (pyenv, or pythonX.Y on PATH).
.venv-%/.installed-stamp: pyproject.toml
	rm -rf .venv-$*
	"$$(tools/find-python $*)" -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

# Keep the stamps (make deletes a pattern rule's intermediate files): the
# next run reuses the environments until pyproject.toml changes.
.PRECIOUS: .venv-%/.installed-stamp

test-python-%: .venv-%/.installed-stamp $(NODE_STAMP)
	@echo "== the suite on Python $* =="
	.venv-$*/bin/pytest -q $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md): their dependencies are the bench extra.
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

# The same suite on another supported Python, its page beside the main one:
# make bench-python-3.13 writes docs/benchmarks-python3.13.md.
bench-python-%: .venv-%/.installed-stamp
	.venv-$*/bin/python -m pip install --quiet -e '.[dev,bench]'
	.venv-$*/bin/python -m benchmarks --out docs/benchmarks-python$*.md

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .pytest_cache .ruff_cache $(NODE_DIR)/node_modules
