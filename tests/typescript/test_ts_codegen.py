"""The TypeScript renderer without Node: golden files, type mapping and helpers
from tables, generator errors, and ``autonats generate --lang ts``.

(test_ts_node.py compiles the output, checks its formatting and runs it.)
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import os
import sys
import textwrap
import types
import typing
import uuid
from pathlib import Path
from typing import Any, Literal, NamedTuple

import msgspec
import pydantic
import pytest
from autonats import DeclarationError
from autonats.codegen import generate_typescript, typescript
from autonats.codegen.typescript.layout import quote
from autonats.codegen.typescript.render import _kind
from autonats.codegen.typescript.types import Interface, TypeMapper

from ts_support import HERE, ROOT, run

UPDATE = os.environ.get("AUTONATS_UPDATE_GOLDEN") == "1"
GOLDEN = HERE / "golden"

#: golden output -> the interface it is generated from
GOLDEN_CASES = {
    "ts_layout.ts": GOLDEN / "ts_layout.py",
    "kitchen.ts": ROOT / "tests" / "golden" / "kitchen.py",
}


# -- golden files -----------------------------------------------------------------


@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str) -> None:
    expected = GOLDEN / name
    actual = generate_typescript(GOLDEN_CASES[name], output_dir=GOLDEN)
    if UPDATE:
        expected.write_text(actual, encoding="utf-8")
    assert actual == expected.read_text(encoding="utf-8")


def test_golden_runtime_is_the_packaged_one() -> None:
    expected = GOLDEN / "autonats.ts"
    if UPDATE:
        expected.write_text(typescript.runtime(), encoding="utf-8")
    assert typescript.runtime() == expected.read_text(encoding="utf-8")
    assert (ROOT / "examples" / "ts" / "autonats.ts").read_text(
        encoding="utf-8"
    ) == typescript.runtime()


def test_every_golden_output_has_a_case() -> None:
    outputs = {p.name for p in GOLDEN.glob("*.ts")} - {"autonats.ts"}
    assert outputs == set(GOLDEN_CASES)


def test_kitchen_details() -> None:
    text = (GOLDEN / "kitchen.ts").read_text(encoding="utf-8")
    # Every kind of call, with its declared timeout in milliseconds.
    assert "notify: { timeout: 5000, kind: " + '"oneway" },' in text
    assert "record: { timeout: 5000, kind: " + '"durable" },' in text
    assert "slow: { timeout: 30000 }," in text
    assert "fast: { timeout: 250 }," in text
    assert 'return this.#client.publish("notify", { message }, options);' in text
    # Versions and metadata: the version fixes the subject; metadata is the handler's.
    assert 'version: "2.1.0-beta.1",' in text and "team" not in text
    # A required keyword-only parameter after defaulted ones: those take undefined.
    assert "c: number | undefined," in text and "d: number," in text
    # Declared errors, sorted by name, with their fields.
    assert "errors: { Conflict, NotFound }," in text
    assert "export class Conflict extends autonats.ServiceError {" in text


# -- helpers and type mapping, from tables ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get_by_id", "getById"),
        ("getById", "getById"),
        ("get", "get"),
        ("get_URL", "getURL"),
        ("a__b", "aB"),
        ("_private", "_private"),
        ("trailing_", "trailing_"),
        ("__dunder__", "__dunder__"),
        ("v2_api", "v2Api"),
    ],
)
def test_camel_case(name: str, expected: str) -> None:
    assert typescript.camel_case(name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", '"plain"'),
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ("'\"", '"\'\\""'),  # as many of each: double quotes win
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
        ("nul\x00", '"nul\\u0000"'),
        ("café 🎉", '"café 🎉"'),
    ],
)
def test_quote_as_prettier_does(text: str, expected: str) -> None:
    assert quote(text) == expected


class _Color(str, enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    LOW = 1


class _Point(NamedTuple):
    x: float
    y: float = 0.0


class _Box(msgspec.Struct):
    size: int


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (str, "string"),
        (int, "number"),
        (float, "number"),
        (bool, "boolean"),
        (None, "null"),
        (typing.Any, "unknown"),
        (bytes, "autonats.Base64String"),
        (bytearray, "autonats.Base64String"),
        (datetime.datetime, "autonats.DateTimeString"),
        (datetime.date, "autonats.DateString"),
        (datetime.time, "autonats.TimeString"),
        (datetime.timedelta, "autonats.DurationString"),
        (uuid.UUID, "autonats.UuidString"),
        (decimal.Decimal, "autonats.DecimalString"),
        (list[int], "number[]"),
        (set[str], "string[]"),
        (frozenset[int], "number[]"),
        (tuple[int, ...], "number[]"),
        (tuple[str, int], "[string, number]"),
        (tuple[()], "[]"),
        (dict[str, int], "Record<string, number>"),
        (dict[int, str], "Record<string, string>"),
        (dict[uuid.UUID, int], "Record<string, number>"),
        (dict[_Color, int], "Partial<Record<_Color, number>>"),
        (dict[_Level, int], "Record<string, number>"),
        (dict[Literal["a", "b"], int], 'Partial<Record<"a" | "b", number>>'),
        (Literal["x"], '"x"'),
        (Literal[1, 2], "1 | 2"),
        (Literal[True], "true"),
        (int | None, "number | null"),
        (typing.Optional[int], "number | null"),  # noqa: UP045
        (list[int | str] | None, "(number | string)[] | null"),
        (typing.Annotated[int, msgspec.Meta(ge=0)], "number"),
        (_Color, "_Color"),
        (_Point, "_Point"),
        (list[_Box], "_Box[]"),
    ],
)
def test_type_mapping(tp: Any, expected: str) -> None:
    assert str(TypeMapper().map(tp)) == expected


def test_declarations() -> None:
    mapper = TypeMapper()
    mapper.map(list[_Box | None])
    mapper.map(_Point)
    mapper.map(dict[_Color, _Level])
    names = [d.name for d in mapper.declared()]
    assert names == ["_Box", "_Point", "_Color", "_Level"]
    point = mapper.declarations["_Point"]
    assert point is not None
    assert str(getattr(point, "type", "")) == "[x: number, y?: number]"


@dataclasses.dataclass
class _Inner:
    raw: bytes


class _Blob(pydantic.BaseModel):
    data: bytes
    inner: _Inner | None = None


class _Blob64(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(ser_json_bytes="base64")
    data: bytes


def test_bytes_in_pydantic_models_are_what_pydantic_writes() -> None:
    mapper = TypeMapper()
    assert str(mapper.map(tuple[_Blob, _Blob64, bytes])) == (
        "[_Blob, _Blob64, autonats.Base64String]"
    )
    blob = mapper.declarations["_Blob"]
    blob64 = mapper.declarations["_Blob64"]
    assert isinstance(blob, Interface) and isinstance(blob64, Interface)
    assert [str(t) for t in blob.types] == ["string", "_Inner | null"]
    assert blob.optional == (False, True)
    inner = mapper.declarations["_Inner"]  # reached through the model: pydantic's
    assert isinstance(inner, Interface)
    assert [str(t) for t in inner.types] == ["string"]
    assert [str(t) for t in blob64.types] == ["autonats.Base64String"]


# -- generator errors ---------------------------------------------------------------------

HEAD = """\
from __future__ import annotations

from typing import Generic, Protocol, TypeVar

import autonats
import msgspec

T = TypeVar("T")

"""


@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            @autonats.service("svc")
            class Svc(Protocol):
                async def constructor(self) -> None: ...
            """,
            "would be the TypeScript client's constructor",
        ),
        (
            """
            @autonats.service("svc")
            class Svc(Protocol):
                async def get_x(self) -> None: ...
                async def getX(self) -> None: ...
            """,
            "methods 'get_x' and 'getX' are both getX in camelCase",
        ),
        (
            """
            class Box(msgspec.Struct, Generic[T]):
                item: T

            @autonats.service("svc")
            class Svc(Protocol):
                async def f(self, box: Box[int]) -> None: ...
            """,
            "generic type",
        ),
        (
            """
            class SvcClient(msgspec.Struct):
                x: int

            @autonats.service("svc")
            class Svc(Protocol):
                async def f(self, x: SvcClient) -> None: ...
            """,
            "would both be named SvcClient in TypeScript",
        ),
    ],
    ids=["constructor", "camel_collision", "generic", "name_clash"],
)
def test_declaration_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "ts_errors.py"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    with pytest.raises(DeclarationError) as info:
        generate_typescript(path, output_dir=tmp_path)
    assert message in info.value.message
    assert info.value.file == "ts_errors.py"
    assert info.value.line > 1


def test_two_types_of_one_name(tmp_path: Path) -> None:
    first = msgspec.defstruct("Item", [("a", int)])
    second = msgspec.defstruct("Item", [("b", str)])
    mapper = TypeMapper()
    mapper.map(first)
    with pytest.raises(DeclarationError, match="two types are named Item"):
        mapper.map(second)


def test_a_kind_the_renderer_lacks_is_an_error() -> None:
    # Streams (issue 14) will add a kind: until the renderer supports it, a
    # method of that kind fails generation instead of becoming a wrong call.
    method = types.SimpleNamespace(oneway=False, durable=False, stream=True)
    spec = types.SimpleNamespace(name="tail", stream=True)
    with pytest.raises(DeclarationError, match="'tail' is a stream"):
        _kind(method, spec)  # type: ignore[arg-type]


# -- autonats generate --lang ts ----------------------------------------------------------

INTERFACE = """\
from typing import Protocol

import autonats


@autonats.service("clisvc")
class Svc(Protocol):
    async def f(self, x: int) -> str: ...
"""


@pytest.fixture
def iface(tmp_path: Path) -> Path:
    path = tmp_path / "cli_iface.py"
    path.write_text(INTERFACE, encoding="utf-8")
    return path


def autonats(*args: str | Path, cwd: Path = ROOT) -> Any:
    return run(sys.executable, "-m", "autonats.cli", *args, cwd=cwd)


def test_writes_the_module_and_the_runtime(iface: Path, tmp_path: Path) -> None:
    out = tmp_path / "ts"
    proc = autonats("generate", "--lang", "ts", iface, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"wrote {out / 'cli_iface.ts'}",
        f"wrote {out / 'autonats.ts'}",
    ]
    text = (out / "cli_iface.ts").read_text(encoding="utf-8")
    assert "export class ClisvcClient implements Svc {" in text
    assert text.splitlines()[1] == (
        "// Change the interface instead and run, in its folder: "
        "autonats generate --lang ts cli_iface.py -o ts"
    )
    assert (out / "autonats.ts").read_text(encoding="utf-8") == typescript.runtime()
    again = autonats("generate", "--lang", "ts", iface, "-o", out)
    assert again.returncode == 0
    assert again.stdout.count("is up to date") == 2


def test_check_reports_stale_and_missing_files(iface: Path, tmp_path: Path) -> None:
    out = tmp_path / "ts"
    proc = autonats("generate", "--check", "--lang", "ts", iface, "-o", out)
    assert proc.returncode == 1
    command = f"autonats generate --lang ts {iface} -o {out}"
    assert proc.stderr.splitlines() == [
        f"{out / 'cli_iface.ts'}: out of date; run: {command}",
        f"{out / 'autonats.ts'}: out of date; run: {command}",
    ]
    assert not out.exists()
    assert autonats("generate", "--lang", "ts", iface, "-o", out).returncode == 0
    ok = autonats("generate", "--check", "--lang", "ts", iface, "-o", out)
    assert (ok.returncode, ok.stderr) == (0, "")
    (out / "autonats.ts").write_text("// stale\n", encoding="utf-8")
    stale = autonats("generate", "--check", "--lang", "ts", iface, "-o", out)
    assert stale.returncode == 1
    assert stale.stderr.splitlines() == [
        f"{out / 'autonats.ts'}: out of date; run: {command}"
    ]
    assert (out / "autonats.ts").read_text(encoding="utf-8") == "// stale\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--lang ts needs -o DIR"),
        (["-o", "out", "--tracing"], "--tracing is for Python modules"),
        (["-o", "out", "--concurrency", "3"], "--concurrency is for Python handlers"),
    ],
)
def test_flags_that_do_not_apply(iface: Path, args: list[str], message: str) -> None:
    proc = autonats("generate", "--lang", "ts", iface, *args)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"autonats: {message}")
    assert "Traceback" not in proc.stderr


def test_module_names_must_not_clash(iface: Path, tmp_path: Path) -> None:
    runtime_named = tmp_path / "autonats.py"
    runtime_named.write_text(INTERFACE, encoding="utf-8")
    proc = autonats("generate", "--lang", "ts", runtime_named, "-o", tmp_path / "o")
    assert proc.returncode == 1
    assert "the name of the runtime module" in proc.stderr
    twin = tmp_path / "other" / "cli_iface.py"
    twin.parent.mkdir()
    twin.write_text(INTERFACE, encoding="utf-8")
    both = autonats("generate", "--lang", "ts", iface, twin, "-o", tmp_path / "o")
    assert both.returncode == 1
    assert "another FILE also generates" in both.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("cwd", ["root", "interface folder"])
def test_the_printed_commands_regenerate_exactly_that_output(
    iface: Path, tmp_path: Path, cwd: str
) -> None:
    """Both the header's command (run in the interface's folder) and the
    --check hint (run where --check ran) give back the same files."""
    out = tmp_path / "web" / "nats"
    where = ROOT if cwd == "root" else tmp_path
    proc = autonats(
        "generate", "--lang", "ts", "--timeout", "2.5", iface, "-o", out, cwd=where
    )
    assert proc.returncode == 0, proc.stderr
    module, runtime = out / "cli_iface.ts", out / "autonats.ts"
    expected = module.read_text(encoding="utf-8")
    assert "f: { timeout: 2500 }," in expected
    header = expected.splitlines()[1].partition("in its folder: ")[2]
    assert (
        header == "autonats generate --lang ts --timeout 2.5 cli_iface.py -o web/nats"
    )
    module.write_text("// stale\n", encoding="utf-8")
    proc = autonats(
        "generate",
        "--check",
        "--lang",
        "ts",
        "--timeout",
        "2.5",
        iface,
        "-o",
        out,
        cwd=where,
    )
    assert proc.returncode == 1
    hint = proc.stderr.strip().partition("run: ")[2]
    assert hint == f"autonats generate --lang ts --timeout 2.5 {iface} -o {out}"
    for command, folder in ((hint, where), (header, iface.parent)):
        module.write_text("// stale\n", encoding="utf-8")
        runtime.unlink()
        words = command.split()
        assert words[0] == "autonats"
        proc = autonats(*words[1:], cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert module.read_text(encoding="utf-8") == expected
        assert runtime.read_text(encoding="utf-8") == typescript.runtime()


def test_python_stays_the_default(iface: Path) -> None:
    proc = autonats("generate", iface)
    assert proc.returncode == 0, proc.stderr
    assert iface.with_name("cli_iface_nats.py").exists()
    assert not iface.with_name("cli_iface.ts").exists()
