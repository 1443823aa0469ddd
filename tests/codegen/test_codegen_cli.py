"""``autonats generate``: where it writes, its flags, ``--check`` and its failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from autonats.codegen import generate

from codegen_support import BIN, EXAMPLES, ROOT, autonats, run, sandbox

__all__ = ["sandbox"]  # the fixture, imported for pytest

INTERFACE = """\
from typing import Protocol

import autonats


@autonats.service("{name}")
class Svc(Protocol):
    async def f(self, x: int) -> str: ...
"""


@pytest.fixture
def iface(tmp_path: Path) -> Path:
    path = tmp_path / "cli_iface.py"
    path.write_text(INTERFACE.format(name="clisvc"), encoding="utf-8")
    return path


def test_writes_beside_the_file(iface: Path) -> None:
    proc = autonats("generate", iface)
    assert proc.returncode == 0, proc.stderr
    out = iface.with_name("cli_iface_nats.py")
    assert f"wrote {out}" in proc.stdout
    text = out.read_text(encoding="utf-8")
    assert "class ClisvcClient(" in text and "class ClisvcHandler(" in text
    again = autonats("generate", iface)
    assert again.returncode == 0
    assert "is up to date" in again.stdout
    assert out.read_text(encoding="utf-8") == text


def test_output_option(iface: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "custom.py"
    out.parent.mkdir()
    proc = autonats("generate", "-o", out, iface)
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
    assert not iface.with_name("cli_iface_nats.py").exists()


def test_timeout_and_concurrency_flags(iface: Path) -> None:
    proc = autonats("generate", "--timeout", "2.5", "--concurrency", "3", iface)
    assert proc.returncode == 0, proc.stderr
    text = iface.with_name("cli_iface_nats.py").read_text(encoding="utf-8")
    assert '"f": autonats.contract.MethodOptions(timeout=2.5, concurrency=3)' in text
    assert (
        "# Change the interface instead and run, in its folder: "
        "autonats generate --timeout 2.5 --concurrency 3 cli_iface.py\n"
    ) in text


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--timeout", "0"), ("--timeout", "soon"), ("--concurrency", "0")],
)
def test_bad_flag_values(iface: Path, flag: str, value: str) -> None:
    proc = autonats("generate", flag, value, iface)
    assert proc.returncode == 2  # argparse usage error
    assert "Traceback" not in proc.stderr
    assert flag in proc.stderr


def test_check_up_to_date(iface: Path) -> None:
    assert autonats("generate", iface).returncode == 0
    proc = autonats("generate", "--check", iface)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_check_missing_writes_nothing(iface: Path) -> None:
    out = iface.with_name("cli_iface_nats.py")
    proc = autonats("generate", "--check", iface)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"{out}: out of date; run: autonats generate {iface}"
    ]
    assert not out.exists()


def test_check_stale_writes_nothing(iface: Path) -> None:
    out = iface.with_name("cli_iface_nats.py")
    out.write_text("# stale\n", encoding="utf-8")
    proc = autonats("generate", "--check", iface)
    assert proc.returncode == 1
    assert str(out) in proc.stderr and "out of date" in proc.stderr
    assert out.read_text(encoding="utf-8") == "# stale\n"


@pytest.mark.parametrize("cwd", ["root", "interface folder"])
def test_the_printed_commands_regenerate_exactly_that_output(
    iface: Path, tmp_path: Path, cwd: str
) -> None:
    """Both the header's command (run in the interface's folder) and the
    --check hint (run where --check ran) give back the same file."""
    (tmp_path / "gen").mkdir()
    out = tmp_path / "gen" / "custom.py"
    where = ROOT if cwd == "root" else tmp_path
    flags = ["--timeout", "2.5", "--concurrency", "3", "--tracing"]
    proc = autonats("generate", *flags, iface, "-o", out, cwd=where)
    assert proc.returncode == 0, proc.stderr
    expected = out.read_text(encoding="utf-8")
    header = expected.splitlines()[1].partition("in its folder: ")[2]
    assert header == (
        "autonats generate --timeout 2.5 --concurrency 3 --tracing "
        "cli_iface.py -o gen/custom.py"
    )
    out.write_text("# stale\n", encoding="utf-8")
    proc = autonats("generate", "--check", *flags, iface, "-o", out, cwd=where)
    assert proc.returncode == 1
    hint = proc.stderr.strip().partition("run: ")[2]
    assert hint == f"autonats generate {' '.join(flags)} {iface} -o {out}"
    for command, folder in ((hint, where), (header, iface.parent)):
        out.write_text("# stale\n", encoding="utf-8")
        words = command.split()
        assert words[0] == "autonats"
        proc = autonats(*words[1:], cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert out.read_text(encoding="utf-8") == expected


def test_output_with_two_files_fails(iface: Path, tmp_path: Path) -> None:
    other = tmp_path / "cli_other.py"
    other.write_text(INTERFACE.format(name="other"), encoding="utf-8")
    proc = autonats("generate", "-o", tmp_path / "x.py", iface, other)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["autonats: -o takes one FILE only"]
    assert not (tmp_path / "x.py").exists()


def test_not_a_python_file(tmp_path: Path) -> None:
    path = tmp_path / "interface.txt"
    path.write_text("", encoding="utf-8")
    proc = autonats("generate", path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"autonats: {path}: not a Python file"]


def test_missing_file(tmp_path: Path) -> None:
    proc = autonats("generate", "absent.py", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("absent.py:1: cannot read the file")


def test_two_files_with_the_same_name(tmp_path: Path) -> None:
    """Bug: the second api.py is not imported; the first one's module is reused."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "api.py").write_text(
            INTERFACE.format(name=f"svc{folder}"), encoding="utf-8"
        )
    proc = autonats("generate", "a/api.py", "b/api.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'name="svca"' in (tmp_path / "a" / "api_nats.py").read_text(encoding="utf-8")
    assert 'name="svcb"' in (tmp_path / "b" / "api_nats.py").read_text(encoding="utf-8")


def test_help_mentions_every_flag() -> None:
    top = autonats("--help")
    assert top.returncode == 0
    assert "generate" in top.stdout and "--version" in top.stdout
    gen = autonats("generate", "--help")
    assert gen.returncode == 0
    for flag in ("-o", "--output", "--timeout", "--concurrency", "--check", "FILE"):
        assert flag in gen.stdout, flag


def test_example_is_up_to_date() -> None:
    exe = BIN / "autonats"
    assert exe.exists(), "the autonats console script is not installed"
    proc = run(exe, "generate", "--check", "examples/users.py", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.usefixtures("sandbox")
def test_example_matches_library_output() -> None:
    expected = (EXAMPLES / "users_nats.py").read_text(encoding="utf-8")
    assert generate(EXAMPLES / "users.py") == expected
