"""The contract description: what it holds, where it points, and loading two
versions of one interface (with same-named siblings) in one process."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import msgspec
from autonats.breaking import check
from autonats.codegen.describe import (
    Choice,
    Contract,
    Ref,
    Scalar,
    Union_,
    load,
)

from breaking_support import svc, write

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_the_canonical_example_is_compatible_with_itself() -> None:
    contract = load(EXAMPLES / "users.py")
    assert [s.name for s in contract.services] == ["user", "inventory"]
    assert check(contract, contract) == []
    assert sorted(contract.types) == [
        "models.Address",
        "models.Point",
        "models.Profile",
        "models.Stats",
        "models.User",
        "models.UserEvent",
    ]


def line_of(path: Path, text: str) -> int:
    """The first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_example_described() -> None:
    users, models = EXAMPLES / "users.py", EXAMPLES / "models.py"
    contract = load(users)
    user = contract.services[0]
    methods = {m.name: m for m in user.methods}
    assert (user.protocol, user.line) == (
        "UserService",
        line_of(users, "class UserService("),
    )
    assert user.file == str(users)
    assert {m.name: m.kind for m in user.methods}["touch"] == "oneway"
    # A stream's result is the type of its items.
    assert methods["watch"].kind == "stream"
    assert methods["watch"].returns == Ref("models.UserEvent")
    # The subject is the runtime's (MethodSpec.subject), with the default prefix.
    subject = methods["get_by_id"].subject
    assert subject.startswith("autonats.user.") and subject.endswith(".get_by_id")
    create = {p.name: p for p in methods["create"].params}
    assert create["name"].line == line_of(users, "name: str,")
    assert create["tags"].line == line_of(users, "tags: frozenset[str]")
    assert (create["role"].default, create["role"].required) == (
        "models.Role.CUSTOMER",
        False,
    )
    assert create["address"].kind == "keyword_only"
    role = create["role"].type
    assert isinstance(role, Choice)
    assert [(m.name, m.value) for m in role.members] == [
        ("CUSTOMER", "customer"),
        ("ADMIN", "admin"),
    ]
    assert (role.file, role.line) == (str(models), line_of(models, "class Role("))
    assert role.members[1].line == line_of(models, 'ADMIN = "admin"')
    email = create["email"].type
    assert isinstance(email, Union_)
    assert [m.kind for m in email.members if isinstance(m, Scalar)] == ["str", "null"]
    assert methods["get_by_id"].returns == Ref("models.User")
    user_type = contract.types["models.User"]
    fields = {f.name: f for f in user_type.fields}
    assert (user_type.kind, user_type.line) == (
        "struct",
        line_of(models, "class User("),
    )
    assert fields["email"].line == line_of(models, "email: str | None")
    assert not fields["email"].required
    assert fields["created"].type == Scalar("str", "datetime", "date-time")
    assert contract.types["models.Point"].array_like
    assert contract.types["models.Profile"].kind == "pydantic"
    (error,) = user.errors
    assert (error.name, error.code, [f.name for f in error.fields]) == (
        "UserNotFound",
        404,
        ["id"],
    )


def test_two_versions_with_same_named_siblings_load_in_one_process(
    tmp_path: Path,
) -> None:
    """Both versions are api.py importing their own models.py; the test
    session has examples/ (with its own models.py) on sys.path too."""
    source = "from models import Item\n\n\n" + svc(
        "async def f(self, item: Item) -> None: ..."
    )
    had_models = "models" in sys.modules
    examples_models = importlib.import_module("models")
    assert examples_models.__file__ == str(EXAMPLES / "models.py")
    before = set(sys.modules)
    old = load(
        write(
            tmp_path / "old",
            source,
            models="import msgspec\n\nclass Item(msgspec.Struct):\n    a: int\n    b: int\n",
        )
    )
    new = load(
        write(
            tmp_path / "new",
            source,
            models="import msgspec\n\nclass Item(msgspec.Struct):\n    a: int\n",
        )
    )
    assert [f.rule for f in check(old, new)] == ["FIELD_REMOVED"]
    try:
        assert set(sys.modules) - before == set()
        assert sys.modules["models"] is examples_models
        assert str(tmp_path / "old") not in sys.path
    finally:
        if not had_models:
            del sys.modules["models"]


def test_an_interface_inside_a_package(tmp_path: Path) -> None:
    """shop.api.api, while another module is imported as ``shop`` (as
    examples/shop.py is in this test session)."""
    package = tmp_path / "shop" / "api"
    write(package, svc("async def f(self, x: int) -> None: ..."))
    (package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "shop" / "__init__.py").write_text("", encoding="utf-8")
    elsewhere = types.ModuleType("shop")
    elsewhere.__file__ = str(EXAMPLES / "shop.py")
    real = sys.modules.get("shop")
    sys.modules["shop"] = elsewhere
    try:
        before = dict(sys.modules)
        contract = load(package / "api.py")
        assert [s.name for s in contract.services] == ["svc"]
        assert contract.services[0].file == str(package / "api.py")
        assert set(sys.modules) == set(before)
        assert all(sys.modules[name] is module for name, module in before.items())
    finally:
        if real is None:
            del sys.modules["shop"]
        else:
            sys.modules["shop"] = real


def test_the_description_is_plain_json(tmp_path: Path) -> None:
    contract = load(EXAMPLES / "users.py")
    text = msgspec.json.encode(contract)
    assert msgspec.json.decode(text, type=Contract) == contract
    assert b'"type":"choice"' in text


def test_a_method_inherited_from_another_file_points_there(tmp_path: Path) -> None:
    base = (
        "from typing import Protocol\n\n\nclass Base(Protocol):\n"
        "    async def ping(self, n: int) -> int: ...\n"
    )
    source = "from base import Base\n\n\n" + svc(
        "async def f(self) -> None: ...", extra=""
    ).replace("class Svc(Protocol)", "class Svc(Base, Protocol)")
    old = load(write(tmp_path / "old", source, base=base))
    new = load(write(tmp_path / "new", source, base=base.replace("n: int", "n: str")))
    (finding,) = check(old, new)
    assert finding.rule == "PARAM_TYPE_CHANGED"
    assert (finding.file, finding.line) == (str(tmp_path / "new" / "base.py"), 5)


def test_docs_list_every_rule_as_the_code_does() -> None:
    """docs/versioning.md's table of rules is RULES, row for row."""
    from autonats.breaking import RULES

    text = (ROOT / "docs" / "versioning.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| `") and line.count("|") == 4
    ]
    table = [
        row
        for row in rows
        if row[0] in RULES or row[1] in {"SUBJECT", "WIRE", "SOURCE"}
    ]
    assert [(r.id, r.category, r.why) for r in RULES.values()] == [
        (row[0], row[1], row[2]) for row in table
    ]
