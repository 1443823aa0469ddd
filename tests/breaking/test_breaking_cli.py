"""``autonats breaking``: output formats, exit statuses, --allow-major,
--except, bad input, and ``--against git:REF`` on a temporary repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from autonats.breaking import RULES
from autonats.cli import main

from breaking_support import HEAD, cli, git, marked_line, svc, write

LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): (?P<rule>[A-Z_]+): (?P<message>.+)$"
)

OLD = svc("async def get(self, id: str, limit: int = 10) -> int: ...")
NEW = svc("async def get(self, id: int, limit: int = 10) -> int: ...  # <-")
BUMPED = NEW.replace('version="1.0.0"', 'version="2.0.0"')


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from tmp_path, so paths print relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rules_of(out: str) -> list[str]:
    """The rule IDs of text output, checking each line's shape."""
    found = [LINE.match(line) for line in out.splitlines()]
    assert all(found), out
    return [m["rule"] for m in found if m]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["breaking", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_text_one_line_per_finding(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(here / "old", OLD)
    new = write(here / "new", NEW)
    status, out, err = run(capsys, "new/api.py", "--against", "old/api.py")
    assert status == 1
    (line,) = out.splitlines()
    found = LINE.match(line)
    assert found is not None, line
    assert found["path"] == "new/api.py"
    assert int(found["line"]) == marked_line(new)
    assert found["rule"] == "PARAM_TYPE_CHANGED"
    assert found["message"] == 'svc.get: parameter "id" changed type from str to int'
    assert err == "autonats breaking: 1 breaking change\n"


def test_compatible_prints_nothing(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(here / "old", OLD)
    write(
        here / "new",
        OLD.replace("-> int", "-> int: ...\n    async def more(self) -> None"),
    )
    assert run(capsys, "new/api.py", "--against", "old/api.py") == (0, "", "")


def test_json(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here / "old", OLD)
    write(here / "new", NEW)
    status, out, _ = run(
        capsys, "new/api.py", "--against", "old/api.py", "--format", "json"
    )
    assert status == 1
    document = json.loads(out)
    assert document["compatible"] is False
    (finding,) = document["findings"]
    assert finding == {
        "rule": "PARAM_TYPE_CHANGED",
        "category": "WIRE",
        "file": "new/api.py",
        "line": marked_line(here / "new" / "api.py"),
        "message": 'svc.get: parameter "id" changed type from str to int',
        "uses": [
            {
                "service": "svc",
                "method": "get",
                "parameter": "id",
                "error": None,
                "field": None,
            }
        ],
        "why": RULES["PARAM_TYPE_CHANGED"].why,
        "new_major": False,
        "allowed": False,
    }


def test_github_annotations(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here / "old", OLD)
    write(here / "new", NEW)
    status, out, _ = run(
        capsys, "new/api.py", "--against", "old/api.py", "--format", "github"
    )
    assert status == 1
    line = marked_line(here / "new" / "api.py")
    assert out.startswith(
        f"::error file=new/api.py,line={line},title=PARAM_TYPE_CHANGED::"
        'svc.get: parameter "id" changed type from str to int. '
    )


def test_allow_major(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here / "old", OLD)
    write(here / "new", BUMPED)
    status, out, err = run(capsys, "new/api.py", "--against", "old/api.py")
    assert status == 1
    assert rules_of(out) == ["MAJOR_VERSION_CHANGED", "PARAM_TYPE_CHANGED"]
    assert out.splitlines()[1].endswith("[new major version]")
    assert "--allow-major accepts them" in err

    status, out_allowed, err = run(
        capsys, "new/api.py", "--against", "old/api.py", "--allow-major"
    )
    assert (status, out_allowed) == (0, out)
    assert err == "autonats breaking: 0 breaking changes, 2 allowed by --allow-major\n"

    status, out, _ = run(
        capsys,
        "new/api.py",
        "--against",
        "old/api.py",
        "--allow-major",
        "--format",
        "json",
    )
    document = json.loads(out)
    assert status == 0 and document["compatible"] is True
    assert [f["allowed"] for f in document["findings"]] == [True, True]

    status, out, _ = run(
        capsys,
        "new/api.py",
        "--against",
        "old/api.py",
        "--allow-major",
        "--format",
        "github",
    )
    assert status == 0
    assert [line.split(" ")[0] for line in out.splitlines()] == ["::warning"] * 2


def test_except(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here / "old", OLD)
    write(here / "new", NEW.replace("limit: int = 10", "limit: int"))
    status, out, _ = run(
        capsys,
        "new/api.py",
        "--against",
        "old/api.py",
        "--except",
        "PARAM_TYPE_CHANGED",
    )
    assert status == 1
    assert rules_of(out) == ["PARAM_DEFAULT_REMOVED"]
    status, out, _ = run(
        capsys,
        "new/api.py",
        "--against",
        "old/api.py",
        "--except",
        "PARAM_TYPE_CHANGED",
        "--except",
        "PARAM_DEFAULT_REMOVED",
    )
    assert (status, out) == (0, "")


GET_LINE = HEAD.count("\n") + 3  # HEAD, then the decorator, the class, get

BAD_INPUT = [
    (("nope.py", "--against", "old/api.py"), "nope.py: no such file"),
    (("new/api.py", "--against", "old/api.txt"), "old/api.txt: not a Python file"),
    (("new/api.py",), "usage: autonats breaking NEW --against OLD"),
    (
        ("new/api.py", "--against", "old/api.py", "--except", "NO_SUCH_RULE"),
        "unknown rule NO_SUCH_RULE for --except",
    ),
    (
        ("new/api.py", "--against", "broken/api.py"),
        f"broken/api.py:{GET_LINE}: syntax error",
    ),
    (
        ("new/api.py", "--against", "wrong/api.py"),
        f"wrong/api.py:{GET_LINE}: method 'get' is not async",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=lambda x: str(x)[:30])
def test_bad_input_exits_2(
    here: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    write(here / "old", OLD)
    write(here / "new", NEW)
    write(here / "broken", OLD.replace("async def get(", "async def get(("))
    write(here / "wrong", OLD.replace("async def get(", "def get("))
    status, out, err = run(capsys, *args)
    assert (status, out) == (2, "")
    assert err.startswith("autonats breaking: ")
    assert message in err
    assert "Traceback" not in err


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--list-rules")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == list(RULES)
    status, out, _ = run(capsys, "--list-rules", "--format", "json")
    assert [r["rule"] for r in json.loads(out)] == list(RULES)
    assert {r["category"] for r in json.loads(out)} == {"SUBJECT", "WIRE", "SOURCE"}


def test_the_installed_command(tmp_path: Path) -> None:
    write(tmp_path / "old", OLD)
    write(tmp_path / "new", NEW)
    done = cli("breaking", "new/api.py", "--against", "old/api.py", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("new/api.py:")
    done = cli("breaking", "new/api.py", "--against", cwd=tmp_path)
    assert done.returncode == 2  # argparse: --against needs a value
    assert "Traceback" not in done.stderr


# -- git ---------------------------------------------------------------------

MODELS = (
    "import msgspec\n\n\nclass Item(msgspec.Struct):\n    a: int\n    b: str = ''\n"
)
API = "from models import Item\n\n\n" + svc("async def get(self) -> Item: ...")


@pytest.fixture
def repo(here: Path) -> Path:
    """A repository whose main branch holds svc/api.py and its sibling models.py."""
    git(here, "init", "-q")
    write(here / "svc", API, models=MODELS)
    git(here, "add", "-A")
    git(here, "commit", "-q", "-m", "v1")
    git(here, "tag", "v1")
    return here


def test_git_reads_the_file_and_its_siblings_at_the_revision(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "svc" / "models.py").write_text(
        MODELS.replace("    b: str = ''\n", ""), encoding="utf-8"
    )
    status, out, _ = run(capsys, "svc/api.py", "--against", "git:main")
    assert status == 1
    assert out == (
        "svc/models.py:4: FIELD_REMOVED: svc.get (result): field Item.b was removed\n"
    )
    # The working tree's models.py is what NEW imported; OLD came from main.
    assert run(capsys, "svc/api.py", "--against", "git:v1")[0] == 1
    git(repo, "commit", "-q", "-am", "v2")
    assert run(capsys, "svc/api.py", "--against", "git:HEAD")[:2] == (0, "")
    assert run(capsys, "svc/api.py", "--against", "git:HEAD~1")[0] == 1


def test_git_from_another_folder(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "svc" / "api.py").write_text(
        HEAD + API.replace("-> Item", "-> Item | None"), encoding="utf-8"
    )
    (repo / "elsewhere").mkdir()
    status, out, _ = run(capsys, str(repo / "svc" / "api.py"), "--against", "git:main")
    assert status == 1
    assert out.startswith("svc/api.py:")
    assert "RESULT_TYPE_CHANGED" in out


def test_git_with_another_path(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "v2", API.replace("-> Item", "-> list[Item]"), models=MODELS)
    status, out, _ = run(capsys, "v2/api.py", "--against", "git:main:svc/api.py")
    assert status == 1
    assert "RESULT_TYPE_CHANGED" in out


def test_git_new_file_has_nothing_to_compare(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "fresh", OLD)
    status, out, err = run(capsys, "fresh/api.py", "--against", "git:main")
    assert (status, out) == (0, "")
    assert "fresh/api.py does not exist at main: a new interface" in err


GIT_BAD_INPUT = [
    ("git:no-such-branch", "no commit 'no-such-branch'"),
    ("git:", "invalid git revision ''"),
    ("git:--output=x", "invalid git revision '--output=x'"),
    ("git:main:../x.py", "give the path relative to the repository's root"),
]


@pytest.mark.parametrize(("against", "message"), GIT_BAD_INPUT)
def test_git_bad_input_exits_2(
    repo: Path, capsys: pytest.CaptureFixture[str], against: str, message: str
) -> None:
    status, out, err = run(capsys, "svc/api.py", "--against", against)
    assert (status, out) == (2, "")
    assert message in err


def test_git_outside_a_repository(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(here / "svc", OLD)
    status, _, err = run(capsys, "svc/api.py", "--against", "git:main")
    assert status == 2
    assert "is not in a git repository" in err


def test_git_interface_inside_a_package(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """src/shop/api.py imports shop.models: the whole src/ comes from the revision."""
    git(here, "init", "-q")
    package = here / "src" / "shop"
    write(
        package,
        API.replace("from models import", "from shop.models import"),
        models=MODELS,
        __init__="",
    )
    (here / "README.md").write_text("not part of the archive\n", encoding="utf-8")
    git(here, "add", "-A")
    git(here, "commit", "-q", "-m", "v1")
    (package / "models.py").write_text(MODELS.replace("b: str", "b: int"), "utf-8")
    status, out, _ = run(capsys, "src/shop/api.py", "--against", "git:main")
    assert status == 1
    assert out.startswith("src/shop/models.py:6: FIELD_TYPE_CHANGED: ")
