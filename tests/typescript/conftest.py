"""Fixtures of the TypeScript client tests: one build of the generated code
with the Node test program (the Node tools come from ``make node-deps``, from
the lock file in this folder), a JetStream server, and an import sandbox."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator

import pytest
from autonats.codegen import typescript
from autonats.testing import NatsServer

from ts_support import BIN, HERE, NODE_MODULES, ROOT, TSCONFIG, Build, run

# The test interfaces and their generated modules are imported as top-level
# modules, as a user's project would import its own.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Generate the test contract's client with the command line, beside a copy
    of the committed example client, and compile both with the test program."""
    if not (BIN / "tsc").exists():
        pytest.fail(
            f"{NODE_MODULES} is missing: run 'make node-deps' (make test does), "
            "which installs the pinned TypeScript tools with npm ci"
        )
    folder = tmp_path_factory.mktemp("typescript")
    # Node and tsc find packages in node_modules of the importing file's folders.
    (folder / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (folder / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    (folder / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
    shutil.copy(HERE / "client_test.ts", folder)
    shutil.copytree(ROOT / "examples" / "ts", folder / "shop")
    (folder / "golden").mkdir()
    for golden in (HERE / "golden").glob("*.ts"):
        shutil.copy(golden, folder / "golden")
    runtime = typescript.runtime()
    (folder / "golden" / "autonats.ts").write_text(runtime, encoding="utf-8")
    generated = run(
        sys.executable,
        "-m",
        "autonats.cli",
        "generate",
        "--lang",
        "ts",
        HERE / "ts_api.py",
        "-o",
        folder / "gen",
        cwd=ROOT,
    )
    assert generated.returncode == 0, generated.stderr
    return Build(folder, run(BIN / "tsc", "-p", folder, cwd=folder))


@pytest.fixture(scope="session")
def js_server() -> Iterator[NatsServer]:
    """A nats-server with JetStream, for the durable oneway method."""
    with NatsServer(jetstream=True) as server:
        yield server


@pytest.fixture
def sandbox() -> Iterator[None]:
    """Undo what importing interface files does to sys.path and sys.modules."""
    path = list(sys.path)
    modules = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            del sys.modules[name]
