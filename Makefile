# Every target sets up what it needs itself: a virtual environment in .venv
# with the project and its dev dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint generate check-generated bench clean

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
	$(BIN)/autonats generate --check examples/users.py benchmarks/echo.py \
		tests/runtime/rt_api.py tests/runtime/rt_legacy.py tests/faults/flt_api.py \
		tests/security/sec_api.py
	$(BIN)/autonats generate --check --tracing tests/observability/chain.py
	$(BIN)/autonats generate --check --tracing benchmarks/echo.py -o benchmarks/echo_traced_nats.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint check-generated
	$(BIN)/pytest

# Benchmarks (docs/benchmarks.md): their dependencies are the bench extra.
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
