"""Generated code is ruff-clean and mypy --strict-clean, and satisfies its Protocol.

Each tool runs once over every file (mypy is slow to start); the parametrised
tests then read that one run's verdict for their own file.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from codegen_support import BIN, CASES, EXAMPLES, GOLDEN, PYPROJECT, ROOT, run

GENERATED = [GOLDEN / f"{case}_nats.py" for case in sorted(CASES)] + [
    EXAMPLES / "users_nats.py"
]
GOLDEN_FILES = sorted(GOLDEN.glob("*.py"))
CHECKED = sorted({*GOLDEN_FILES, *GENERATED})

# A client that does not implement the Protocol it is assigned to must be
# rejected, or the conformance check proves nothing.
BAD_CONFORMANCE = """\
from collections.abc import AsyncIterator
from typing import Protocol

import nats.aio.client

import flags
import kitchen_nats
import plain
import plain_nats
import streams_nats


class IntTicks(Protocol):
    def ticks(self) -> AsyncIterator[int]: ...


def wrong(nc: nats.aio.client.Client) -> None:
    a: flags.FlaggedService = kitchen_nats.KitchenClient(nc)  # error: other service
    b: plain.ClockService = plain_nats.PlainStoreClient(nc)  # error: other service
    c: IntTicks = streams_nats.TickerClient(nc)  # error: items are str, not int
    print(a, b, c)
"""
BAD_LINES = {18, 19, 20}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.fixture(scope="module")
def ruff_format() -> set[Path]:
    """Files ``ruff format --check`` would reformat."""
    proc = run(BIN / "ruff", "format", "--check", "--output-format=concise", *CHECKED)
    assert proc.returncode in (0, 1), proc.stderr
    found = {
        (ROOT / m).resolve()
        for m in re.findall(r"^(.+?\.py):\d+:\d+: unformatted", proc.stdout, re.M)
    }
    # The parsing must agree with the exit status, or every file would "pass".
    assert bool(found) == (proc.returncode == 1), proc.stdout
    return found


@pytest.fixture(scope="module")
def ruff_check() -> dict[Path, list[str]]:
    """``ruff check`` diagnostics per file."""
    proc = run(BIN / "ruff", "check", "--output-format=concise", *CHECKED)
    assert proc.returncode in (0, 1), proc.stderr
    found: dict[Path, list[str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(.+?\.py):\d+:\d+: ", line)
        if m:
            found.setdefault((ROOT / m.group(1)).resolve(), []).append(line)
    return found


@pytest.fixture(scope="module")
def mypy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy --strict diagnostics per file name, from one run over everything."""
    bad = tmp_path_factory.mktemp("typing") / "conformance_bad.py"
    bad.write_text(BAD_CONFORMANCE, encoding="utf-8")
    files = [p.name for p in GOLDEN_FILES] + [EXAMPLES / "users_nats.py", bad]
    proc = run(
        BIN / "mypy",
        "--strict",
        "--config-file",
        PYPROJECT,
        "--no-error-summary",
        "--show-absolute-path",
        *files,
        cwd=GOLDEN,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    found: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(.+?\.py):(\d+): (error|note): ", line)
        assert m, f"unexpected mypy output: {line}"
        if m.group(3) == "error":
            found.setdefault(str(Path(m.group(1)).resolve()), []).append(line)
    return found


@pytest.mark.parametrize("path", CHECKED, ids=_ids(CHECKED))
def test_ruff_format(path: Path, ruff_format: set[Path]) -> None:
    assert path.resolve() not in ruff_format, f"ruff format would change {path.name}"


@pytest.mark.parametrize("path", CHECKED, ids=_ids(CHECKED))
def test_ruff_check(path: Path, ruff_check: dict[Path, list[str]]) -> None:
    assert ruff_check.get(path.resolve(), []) == []


@pytest.mark.parametrize("path", CHECKED, ids=_ids(CHECKED))
def test_mypy_strict(path: Path, mypy: dict[str, list[str]]) -> None:
    assert mypy.get(str(path.resolve()), []) == []


def test_mypy_rejects_a_client_of_another_service(mypy: dict[str, list[str]]) -> None:
    bad = [
        errors for file, errors in mypy.items() if file.endswith("conformance_bad.py")
    ]
    assert len(bad) == 1
    lines = {int(e.split(":")[1]) for e in bad[0]}
    assert lines == BAD_LINES, bad[0]
    assert all("Incompatible types in assignment" in e for e in bad[0]), bad[0]


def test_conformance_covers_every_case() -> None:
    text = (GOLDEN / "conformance.py").read_text(encoding="utf-8")
    for case in sorted(CASES):
        assert f"import {case}_nats\n" in text, case


def test_200_methods_generate_ruff_clean(tmp_path: Path) -> None:
    methods = "\n".join(
        f"    async def method_{i:03}(self, key: str, count: int = {i}) -> list[int]: ..."
        for i in range(200)
    )
    interface = tmp_path / "huge_interface.py"
    interface.write_text(
        textwrap.dedent(
            """\
            from typing import Protocol

            import autonats


            @autonats.service("huge")
            class HugeService(Protocol):
            """
        )
        + methods
        + "\n",
        encoding="utf-8",
    )
    proc = run(BIN / "python", "-m", "autonats.cli", "generate", interface)
    assert proc.returncode == 0, proc.stderr
    output = tmp_path / "huge_interface_nats.py"
    text = output.read_text(encoding="utf-8")
    assert text.count("    async def method_") == 200
    assert text.count("autonats.contract.MethodOptions(") == 200
    check = run(BIN / "ruff", "format", "--check", "--diff", output)
    assert check.returncode == 0, check.stdout + check.stderr
