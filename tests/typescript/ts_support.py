"""Paths, the tsconfig and tool runners shared by the TypeScript client tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_MODULES = HERE / "node_modules"
BIN = NODE_MODULES / ".bin"

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


def node_env(**extra: str) -> dict[str, str]:
    """A small environment for node: PATH and the given variables."""
    return {"PATH": os.environ.get("PATH", ""), **extra}
