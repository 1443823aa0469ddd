"""Declaration errors: ``file:line: message`` from the library and one line from the CLI.

Each case is an interface source; the line marked ``# <-`` is where the error
must point.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from autonats import DeclarationError
from autonats.codegen import generate

from codegen_support import autonats, sandbox

__all__ = ["sandbox"]  # the fixture, imported for pytest

HEAD = """\
from __future__ import annotations

import datetime
import socket
from typing import TYPE_CHECKING, Protocol, TypeVar

import autonats

"""


@dataclass(frozen=True)
class Case:
    id: str
    body: str
    message: str  # a fragment the message must contain
    head: str = HEAD
    at: int = 0  # where the error points, relative to the marked line

    @property
    def source(self) -> str:
        return self.head + textwrap.dedent(self.body)

    @property
    def line(self) -> int:
        marked = [
            i for i, text in enumerate(self.source.splitlines(), 1) if "# <-" in text
        ]
        assert len(marked) == 1, f"case {self.id} must mark exactly one line"
        return marked[0] + self.at


def _svc(*members: str) -> str:
    body = "\n".join(textwrap.indent(textwrap.dedent(m), "    ") for m in members)
    return '@autonats.service("svc")\nclass Svc(Protocol):\n' + body + "\n"


CASES = [
    Case("not_async", _svc("def f(self) -> None: ...  # <-"), "is not async"),
    Case(
        "var_positional",
        _svc("async def f(self, *args: int) -> None: ...  # <-"),
        "'*args' cannot be sent over the wire",
    ),
    Case(
        "var_keyword",
        _svc("async def f(self, **options: int) -> None: ...  # <-"),
        "'**options' cannot be sent over the wire",
    ),
    Case(
        "param_annotation",
        _svc("async def f(self, x) -> None: ...  # <-"),
        "parameter 'x' of 'f' has no type annotation",
    ),
    Case(
        "return_annotation",
        _svc("async def f(self, x: int): ...  # <-"),
        "method 'f' has no return annotation",
    ),
    Case(
        "plain_class",
        "class Thing:\n    pass\n\n\n"
        + _svc("async def f(self, x: Thing) -> None: ...  # <-"),
        "parameter 'x' of 'f': type Thing is not supported; supported:",
    ),
    Case(
        "socket",
        _svc("async def f(self) -> socket.socket: ...  # <-"),
        "return type of 'f': type socket is not supported",
    ),
    Case(
        "typevar",
        'T = TypeVar("T")\n\n\n' + _svc("async def f(self, x: T) -> None: ...  # <-"),
        "type variable",
    ),
    Case(
        "type_checking_only",
        "if TYPE_CHECKING:\n    import decimal\n\n\n"
        + _svc("async def f(self, x: decimal.Decimal) -> None: ...  # <-"),
        "cannot resolve the annotations of 'f'",
    ),
    Case(
        "oneway_returns",
        _svc("@autonats.oneway\nasync def f(self) -> int: ...  # <-"),
        "oneway method 'f' must return None",
    ),
    Case(
        "durable_without_oneway",
        "def durable(f):\n"
        "    f.__autonats_method__ = autonats.contract.MethodOptions(durable=True)\n"
        "    return f\n\n\n" + _svc("@durable\nasync def f(self) -> None: ...  # <-"),
        "durable applies to oneway methods only",
    ),
    Case(
        "breaker_on_oneway",
        _svc(
            "@autonats.oneway\n"
            "@autonats.method(breaker=True)\n"
            "async def f(self) -> None: ...  # <-"
        ),
        "a circuit breaker has nothing to count",
    ),
    Case(
        "breaker_not_a_breaker",
        _svc("@autonats.method(breaker='on')  # <-\nasync def f(self) -> None: ..."),
        "breaker must be True, False or an autonats.Breaker(...), not 'on'",
    ),
    Case(
        "breaker_bad_value",
        _svc(
            "@autonats.method(breaker=autonats.Breaker(failure_rate=1.5))  # <-\n"
            "async def f(self) -> None: ..."
        ),
        "failure_rate must be a share in (0, 1], not 1.5",
    ),
    Case(
        "underscore",
        _svc("async def _hidden(self) -> None: ...  # <-"),
        "names starting with '_' cannot be called remotely",
    ),
    Case(
        "attribute",
        _svc("name: str  # <-", "async def f(self) -> None: ..."),
        "Svc.name is an attribute",
    ),
    Case(
        "property",
        _svc("@property\ndef p(self) -> int: ...  # <-"),
        "Svc.p is a property",
    ),
    Case(
        "staticmethod",
        _svc("@staticmethod\nasync def s() -> int: ...  # <-"),
        "Svc.s is a staticmethod",
    ),
    Case(
        "classmethod",
        _svc("@classmethod\nasync def c(cls) -> int: ...  # <-"),
        "Svc.c is a classmethod",
    ),
    Case(
        "not_protocol",
        '@autonats.service("svc")\nclass Svc:  # <-\n    async def f(self) -> None: ...\n',
        "class Svc is marked as a service but is not a typing.Protocol",
    ),
    Case(
        "invalid_name",
        '@autonats.service("a.b")  # <-\nclass Svc(Protocol):\n'
        "    async def f(self) -> None: ...\n",
        "service name 'a.b' is invalid",
    ),
    Case(
        "invalid_comment_name",
        "# @nats:server a.b\nclass Svc(Protocol):  # <-\n"
        "    async def f(self) -> None: ...\n",
        "service name 'a.b' is invalid",
        at=-1,
    ),
    Case(
        "invalid_version",
        '@autonats.service("svc", version="1.2")  # <-\nclass Svc(Protocol):\n'
        "    async def f(self) -> None: ...\n",
        "service version '1.2' is not a semantic version",
    ),
    Case(
        "pascal_clash",
        '@autonats.service("user")\nclass A(Protocol):\n'
        "    async def f(self) -> None: ...\n\n\n"
        '@autonats.service("User")\nclass B(Protocol):  # <-\n'
        "    async def f(self) -> None: ...\n",
        "services 'user' and 'User' both generate UserClient",
    ),
    Case(
        "spec_name_clash",
        '@autonats.service("userAB")\nclass A(Protocol):\n'
        "    async def f(self) -> None: ...\n\n\n"
        '@autonats.service("user_ab")\nclass B(Protocol):  # <-\n'
        "    async def f(self) -> None: ...\n",
        "services 'userAB' and 'user_ab' both generate USER_AB_SERVICE",
    ),
    Case(
        "comment_mismatch",
        '# @nats:server other\n@autonats.service("svc")\nclass Svc(Protocol):  # <-\n'
        "    async def f(self) -> None: ...\n",
        "named 'svc' by @autonats.service and 'other' by its comment",
    ),
    Case(
        "unrenderable_default",
        _svc(
            "async def f(  # <-\n"
            "    self, at: datetime.datetime = datetime.datetime(2020, 1, 1)\n"
            ") -> None: ..."
        ),
        "parameter 'at' of 'f': the default datetime.datetime(2020, 1, 1, 0, 0) "
        "cannot be written in generated code",
    ),
    Case(
        "union_of_str_likes",
        _svc("async def f(self, x: str | bytes) -> None: ...  # <-"),
        "parameter 'x' of 'f': Type unions may not contain more than one str-like type",
    ),
    Case(
        "union_of_arrays",
        _svc("async def f(self) -> list[int] | tuple[int, ...]: ...  # <-"),
        "return type of 'f': Type unions may not contain more than one array-like",
    ),
    Case(
        "error_code_200",
        _svc("async def f(self) -> None: ...")
        + "\n\nclass Fine(autonats.ServiceError):  # <-\n    code = 200\n",
        "error Fine: code must be an integer from 400 to 599, not 200",
    ),
    Case(
        "error_code_str",
        _svc("async def f(self) -> None: ...")
        + '\n\nclass Odd(autonats.ServiceError):  # <-\n    code = "404"\n',
        "error Odd: code must be an integer from 400 to 599, not '404'",
    ),
    Case(
        "error_field_unsupported",
        _svc("async def f(self) -> None: ...")
        + "\n\nclass Bad(autonats.ServiceError):  # <-\n"
        "    code = 400\n    conn: socket.socket\n",
        "field 'conn' of error Bad: type socket is not supported",
    ),
    Case(
        "syntax_error",
        _svc("async def f(self) -> None: ...") + "def broken(:  # <-\n",
        "syntax error:",
    ),
    Case(
        "import_error",
        "X = 1\nimport does_not_exist_autonats  # <-\n\n\n"
        + _svc("async def f(self) -> None: ..."),
        "importing the module failed: ModuleNotFoundError",
    ),
    Case(
        "runtime_error",
        "X = 1\nY = X / 0  # <-\n\n\n" + _svc("async def f(self) -> None: ..."),
        "importing the module failed: ZeroDivisionError",
    ),
    Case(
        "no_services",
        "",
        "no service found",
        head="# <-\nfrom typing import Protocol\n\n\nclass Svc(Protocol):\n"
        "    async def f(self) -> None: ...\n",
    ),
    Case(
        "no_methods",
        '@autonats.service("svc")\nclass Svc(Protocol):  # <-\n    """Nothing."""\n',
        "service 'svc' declares no methods",
    ),
    Case(
        "unsupported_in_container",
        _svc("async def f(self, x: dict[str, list[socket.socket]]) -> None: ...  # <-"),
        "parameter 'x' of 'f': type socket is not supported",
    ),
    Case(
        "unsupported_in_dataclass",
        "import dataclasses\n\n\nclass Thing:\n    pass\n\n\n"
        "@dataclasses.dataclass\nclass Box:\n    things: list[Thing | None]\n\n\n"
        + _svc("async def f(self) -> tuple[Box, ...]: ...  # <-"),
        "return type of 'f': type Thing is not supported",
    ),
    Case(
        "stream_declared_async",
        "from collections.abc import AsyncIterator\n\n\n"
        + _svc("async def f(self) -> AsyncIterator[int]: ...  # <-"),
        "stream 'f' is declared 'async def'",
    ),
    Case(
        "stream_without_item_type",
        "from collections.abc import AsyncIterator\n\n\n"
        + _svc("def f(self) -> AsyncIterator: ...  # type: ignore[type-arg]  # <-"),
        "name the type T of its items",
    ),
    Case(
        "stream_that_receives",
        "from collections.abc import AsyncGenerator\n\n\n"
        + _svc("def f(self) -> AsyncGenerator[int, str]: ...  # <-"),
        "a stream cannot receive values (asend)",
    ),
    Case(
        "stream_oneway",
        "from collections.abc import AsyncIterator\n\n\n"
        + _svc("@autonats.oneway\ndef f(self) -> AsyncIterator[int]: ...  # <-"),
        "stream 'f' cannot be oneway",
    ),
    Case(
        "stream_unsupported_item",
        "from collections.abc import AsyncIterator\n\n\n"
        + _svc("def f(self) -> AsyncIterator[socket.socket]: ...  # <-"),
        "item type of 'f': type socket is not supported",
    ),
    Case(
        "plain_def_not_a_stream",
        _svc("def f(self) -> list[int]: ...  # <-"),
        "for a stream of items, 'def f(...) -> AsyncIterator[T]'",
    ),
]


def _write(tmp_path: Path, case: Case) -> Path:
    # A distinct module name per case: interface files are imported by name.
    path = tmp_path / f"decl_{case.id}.py"
    path.write_text(case.source, encoding="utf-8")
    return path


@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_declaration_error(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    with pytest.raises(DeclarationError) as info:
        generate(path)
    text = str(info.value)
    prefix = f"{path}:{case.line}: "
    assert text.startswith(prefix), f"{text!r} does not start with {prefix!r}"
    assert case.message in text
    assert "\n" not in text
    assert info.value.line == case.line


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_declaration_error_cli(tmp_path: Path, case: Case) -> None:
    path = _write(tmp_path, case)
    proc = autonats("generate", path.name, cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{path.name}:{case.line}: ")
    assert case.message in lines[0]
    assert proc.stdout == ""
    assert not (tmp_path / f"decl_{case.id}_nats.py").exists()


@pytest.mark.usefixtures("sandbox")
def test_service_name_must_make_identifiers(tmp_path: Path) -> None:
    """Bug: "1user" passes the name check but generates ``class 1userClient``."""
    path = tmp_path / "decl_digit_name.py"
    path.write_text(
        HEAD + _svc("async def f(self) -> None: ...").replace('"svc"', '"1user"'),
        encoding="utf-8",
    )
    try:
        text = generate(path)
    except DeclarationError as exc:
        assert str(exc).startswith(f"{path}:")
    else:
        compile(text, "decl_digit_name_nats.py", "exec")
