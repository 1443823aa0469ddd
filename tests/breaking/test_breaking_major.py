"""Major versions: a breaking change under a new major version is reported as
such, major versions side by side are matched by version, and retiring one
is a change of its own.

Two major versions of one service in one file arrive with versioned subjects
(issue 13, part 2); until then the side-by-side cases join the descriptions
of two files, which is what such a file describes.
"""

from __future__ import annotations

from pathlib import Path

from autonats.breaking import check
from autonats.codegen.describe import Contract, load

from breaking_support import compare, svc, write

V1 = svc("async def get(self, id: str) -> int: ...", cls="SvcV1")
V2 = svc("async def get(self, id: int) -> int: ...", version="2.0.0", cls="SvcV2")


def both(tmp: Path, name: str, *sources: str) -> Contract:
    """One contract holding the services of several files."""
    parts = [load(write(tmp / f"{name}{i}", s)) for i, s in enumerate(sources)]
    return Contract(
        file=parts[0].file,
        services=tuple(s for p in parts for s in p.services),
        types={k: v for p in parts for k, v in p.types.items()},
    )


def test_breaking_change_with_a_major_bump_is_a_new_major_version(
    tmp_path: Path,
) -> None:
    findings = compare(tmp_path, V1, V2)
    assert [f.rule for f in findings] == ["MAJOR_VERSION_CHANGED", "PARAM_TYPE_CHANGED"]
    assert all(f.new_major for f in findings)
    assert "moved from version 1.0.0 to 2.0.0" in findings[0].message


def test_the_same_change_without_a_bump_is_breaking(tmp_path: Path) -> None:
    findings = compare(tmp_path, V1, V2.replace('"2.0.0"', '"1.1.0"'))
    assert [(f.rule, f.new_major) for f in findings] == [("PARAM_TYPE_CHANGED", False)]


def test_a_new_major_version_beside_the_old_one_is_compatible(tmp_path: Path) -> None:
    old = both(tmp_path, "old", V1)
    new = both(tmp_path, "new", V1, V2)
    assert check(old, new) == []


def test_each_major_version_is_compared_with_its_own(tmp_path: Path) -> None:
    old = both(tmp_path, "old", V1, V2)
    v2_changed = V2.replace("id: int", "id: int, extra: str")
    new = both(tmp_path, "new", V1, v2_changed)
    findings = check(old, new)
    assert [(f.rule, f.new_major) for f in findings] == [
        ("PARAM_REQUIRED_ADDED", False)
    ]
    assert findings[0].message.startswith("svc.get:")


def test_retiring_a_major_version(tmp_path: Path) -> None:
    old = both(tmp_path, "old", V1, V2)
    new = both(tmp_path, "new", V2)
    findings = check(old, new)
    assert [(f.rule, f.new_major) for f in findings] == [
        ("MAJOR_VERSION_REMOVED", True)
    ]
    assert findings[0].message == (
        'service "svc" version 1.0.0 was removed (still served: 2.0.0)'
    )


def test_removing_the_only_version_is_removing_the_service(tmp_path: Path) -> None:
    old = both(tmp_path, "old", V1, svc("async def f(self) -> None: ...", name="o"))
    new = both(tmp_path, "new", svc("async def f(self) -> None: ...", name="o"))
    assert [f.rule for f in check(old, new)] == ["SERVICE_REMOVED"]


def test_description_round_trips_through_json(tmp_path: Path) -> None:
    import msgspec

    contract = both(tmp_path, "x", V1, V2)
    again = msgspec.json.decode(msgspec.json.encode(contract), type=Contract)
    assert again == contract


def test_retiring_one_version_while_adding_another(tmp_path: Path) -> None:
    v3 = V2.replace('"2.0.0"', '"3.0.0"').replace("SvcV2", "SvcV3")
    old = both(tmp_path, "old", V1, V2)
    new = both(tmp_path, "new", V2, v3)
    assert [f.rule for f in check(old, new)] == ["MAJOR_VERSION_REMOVED"]


def test_two_old_versions_moving_to_one_new(tmp_path: Path) -> None:
    """The latest old version is the one that moved; the other was retired."""
    v3 = V2.replace('"2.0.0"', '"3.0.0"').replace("SvcV2", "SvcV3")
    old = both(tmp_path, "old", V1, V2)
    new = both(tmp_path, "new", v3)
    findings = check(old, new)
    assert sorted(f.rule for f in findings) == [
        "MAJOR_VERSION_CHANGED",
        "MAJOR_VERSION_REMOVED",
    ]
    moved = next(f for f in findings if f.rule == "MAJOR_VERSION_CHANGED")
    assert "from version 2.0.0 to 3.0.0" in moved.message
