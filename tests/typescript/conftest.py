"""Fixtures of the TypeScript client tests: the Node toolchain (installed by
``make node-deps`` from the lock file in this folder) and one build of the
generated code with the Node test program."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from autonats.testing import NatsServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_MODULES = HERE / "node_modules"
BIN = NODE_MODULES / ".bin"

# The test interface and its generated module are imported as top-level
# modules, as a user's project would import its own.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

#: What the generated code must compile under: --strict and the flags demanding
#: projects add, so it never breaks a user's build.
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "exactOptionalPropertyTypes": True,
        "noUncheckedIndexedAccess": True,
        "noImplicitOverride": True,
        "noImplicitReturns": True,
        "noUnusedLocals": True,
        "noUnusedParameters": True,
        "noPropertyAccessFromIndexSignature": True,
        "noFallthroughCasesInSwitch": True,
        "verbatimModuleSyntax": True,
        "isolatedModules": True,
        "erasableSyntaxOnly": True,
        "target": "es2022",
        "lib": ["es2022", "esnext.disposable"],
        "types": ["node"],
        "module": "nodenext",
        "moduleResolution": "nodenext",
        # nats-core's own declarations do not pass exactOptionalPropertyTypes.
        "skipLibCheck": True,
        "rootDir": ".",
        "outDir": "out",
    },
    "include": ["gen/*.ts", "shop/*.ts", "golden/*.ts", "client_test.ts"],
}


def run(
    *args: str | Path,
    cwd: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its text output."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def node() -> str:
    """The node executable; the tests need it (Node 20 or later)."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not on PATH: the TypeScript tests need Node 20 or later")
    return found


@dataclass(frozen=True)
class Build:
    """One compilation of the generated code and the Node test program."""

    #: gen/ (the test contract, generated now), shop/ (examples/ts), golden/
    #: (the golden files) and client_test.ts
    folder: Path
    tsc: subprocess.CompletedProcess[str]

    @property
    def program(self) -> Path:
        return self.folder / "out" / "client_test.js"


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


def node_env(**extra: str) -> dict[str, str]:
    """A small environment for node: PATH and the given variables."""
    return {"PATH": os.environ.get("PATH", ""), **extra}
