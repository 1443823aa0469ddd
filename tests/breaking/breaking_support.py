"""Two versions of an interface on disk, loaded and compared as the command does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from autonats.breaking import Finding, check
from autonats.codegen.describe import Contract, load

HEAD = """\
from __future__ import annotations

import dataclasses
import decimal
import enum
import typing
import uuid
from typing import Annotated, Literal, NamedTuple, Protocol, TypedDict

import msgspec

import autonats

"""


def svc(
    *methods: str,
    name: str = "svc",
    version: str = "1.0.0",
    cls: str = "Svc",
    extra: str = "",
) -> str:
    """A service declaration: ``@autonats.service(name, ...) class cls(Protocol)``."""
    body = "\n".join(
        textwrap.indent(textwrap.dedent(m).strip(), "    ") for m in methods
    )
    return (
        f'@autonats.service("{name}", version="{version}"{extra})\n'
        f"class {cls}(Protocol):\n{body}\n\n\n"
    )


def write(folder: Path, source: str, **siblings: str) -> Path:
    """Write ``api.py`` (HEAD + ``source``) and sibling modules into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in siblings.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    path = folder / "api.py"
    path.write_text(HEAD + textwrap.dedent(source), encoding="utf-8")
    return path


def compare(tmp: Path, old: str, new: str, **siblings: str) -> list[Finding]:
    """Findings from ``old`` to ``new`` (each written as its own api.py)."""
    return check(
        load(write(tmp / "old", old, **siblings)), describe(tmp, new, **siblings)
    )


def describe(tmp: Path, source: str, **siblings: str) -> Contract:
    return load(write(tmp / "new", source, **siblings))


def marked_line(path: Path) -> int:
    """The line of ``path`` marked with ``# <-``."""
    marked = [
        i
        for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "# <-" in text
    ]
    assert len(marked) == 1, f"{path} must mark exactly one line"
    return marked[0]


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; return its output."""
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=autonats tests",
            "-c",
            "user.email=tests@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m autonats.cli ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "autonats.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
