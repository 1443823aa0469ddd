# Every target sets up what it needs itself: a virtual environment in .venv
# with the project and its dev dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-all lint generate check-generated bench clean

# The oldest and the newest Python autonats supports: make test runs the
# suite on each of them as well as on $(PYTHON); make test-all on every one.
OLDEST := 3.10
NEWEST := 3.13
SUPPORTED := 3.10 3.11 3.12 3.13

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "autonats needs Python 3.10+; run: make PYTHON=python3.X"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/autonats generate examples/users.py
	cd examples && ../$(BIN)/python demo.py

generate: $(STAMP)
	$(BIN)/autonats generate examples/users.py

# Every committed generated module, with the flags it was generated with.
check-generated: $(STAMP)
	$(BIN)/autonats generate --check examples/users.py benchmarks/echo.py benchmarks/feed.py \
		tests/runtime/rt_api.py tests/runtime/rt_legacy.py tests/runtime/rt_streams.py \
		tests/faults/flt_api.py
	$(BIN)/autonats generate --check --tracing tests/observability/chain.py
	$(BIN)/autonats generate --check --tracing benchmarks/echo.py -o benchmarks/echo_traced_nats.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# In a random order (pytest-random-order prints the seed: rerun a failure
# with -p random_order --random-order-seed=N): tests must not depend on it.
PYTEST_ARGS := -p random_order --random-order

test: lint check-generated
	$(BIN)/pytest $(PYTEST_ARGS)
	$(MAKE) test-python-$(OLDEST) test-python-$(NEWEST)

test-all: lint check-generated $(addprefix test-python-,$(SUPPORTED))

# A virtual environment per Python version (.venv-3.10, ...), found by
# tools/find-python (pyenv, or pythonX.Y on PATH).
.venv-%/.installed-stamp: pyproject.toml
	rm -rf .venv-$*
	"$$(tools/find-python $*)" -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

test-python-%: .venv-%/.installed-stamp
	@echo "== the suite on Python $* =="
	.venv-$*/bin/pytest -q $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md): their dependencies are the bench extra.
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .pytest_cache .ruff_cache
