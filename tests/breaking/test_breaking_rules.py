"""Every rule of ``autonats breaking``, from a table: two versions of an
interface and the rule IDs the change must report (and nothing else).

Where the new version marks a line with ``# <-``, the first finding must
point at it. Compatible pairs, which must report nothing, are at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from autonats.breaking import RULES

from breaking_support import compare, marked_line, svc


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    expect: tuple[str, ...]  # rule IDs, in any order; () for compatible
    message: str = ""  # a fragment of the first finding's message


ITEM = """\
class Item(msgspec.Struct):
    a: int
    b: str = ""


"""

ROLE = """\
class Role(str, enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"


"""

NOT_FOUND = """\
class NotFound(autonats.ServiceError):
    code = 404
    id: str


"""

BREAKING = [
    # -- services and methods: where calls go
    Case(
        "service_removed",
        svc("async def f(self) -> None: ...")
        + svc("async def g(self) -> None: ...", name="other", cls="Other"),
        svc("async def f(self) -> None: ..."),
        ("SERVICE_REMOVED",),
        'service "other" (Other) was removed',
    ),
    Case(
        "service_renamed",
        svc("async def f(self) -> None: ..."),
        svc("async def f(self) -> None: ...", name="svc2"),
        ("SERVICE_RENAMED",),
        'service "svc" was renamed to "svc2"',
    ),
    Case(
        "major_version_changed",
        svc("async def f(self) -> None: ..."),
        svc("async def f(self) -> None: ...", version="2.0.0"),
        ("MAJOR_VERSION_CHANGED",),
        'service "svc" moved from version 1.0.0 to 2.0.0',
    ),
    Case(
        "zero_to_one_is_a_major_change",
        svc("async def f(self) -> None: ...", version="0.3.1"),
        svc("async def f(self) -> None: ...", version="1.0.0"),
        ("MAJOR_VERSION_CHANGED",),
    ),
    Case(
        "method_removed",
        svc("async def f(self) -> None: ...", "async def g(self) -> int: ..."),
        svc("async def f(self) -> None: ..."),
        ("METHOD_REMOVED",),
        "method svc.g was removed",
    ),
    Case(
        "method_renamed",
        svc("async def f(self) -> None: ...", "async def g(self, x: int) -> int: ..."),
        svc(
            "async def f(self) -> None: ...",
            "async def h(self, x: int) -> int: ...  # <-",
        ),
        ("METHOD_RENAMED",),
        "method svc.g was renamed to svc.h",
    ),
    Case(
        "method_kind_request_to_oneway",
        svc("async def f(self, x: int) -> None: ..."),
        svc("@autonats.oneway\nasync def f(self, x: int) -> None: ...  # <-"),
        ("METHOD_KIND_CHANGED",),
        "svc.f changed from request/reply to oneway",
    ),
    Case(
        "method_kind_oneway_to_durable",
        svc("@autonats.oneway\nasync def f(self, x: int) -> None: ..."),
        svc("@autonats.oneway(durable=True)\nasync def f(self, x: int) -> None: ..."),
        ("METHOD_KIND_CHANGED",),
        "from oneway to durable oneway",
    ),
    Case(
        "method_kind_request_to_stream",
        svc("async def f(self) -> list[int]: ..."),
        svc("def f(self) -> typing.AsyncIterator[int]: ...  # <-"),
        ("METHOD_KIND_CHANGED",),
        "svc.f changed from request/reply to stream",
    ),
    Case(
        "stream_item_type_changed",
        svc("def f(self) -> typing.AsyncIterator[int]: ..."),
        svc("def f(self) -> typing.AsyncIterator[str]: ...  # <-"),
        ("RESULT_TYPE_CHANGED",),
        "svc.f: result changed type from int to str",
    ),
    # -- parameters
    Case(
        "param_removed",
        svc("async def f(self, a: int, b: int) -> None: ..."),
        svc("async def f(self, a: int) -> None: ...  # <-"),
        ("PARAM_REMOVED",),
        'svc.f: parameter "b" was removed',
    ),
    Case(
        "param_renamed",
        svc("async def f(self, a: int, b: str) -> None: ..."),
        svc("async def f(self, a: int, c: str) -> None: ...  # <-"),
        ("PARAM_RENAMED",),
        'parameter "b" was renamed to "c"',
    ),
    Case(
        "required_param_added",
        svc("async def f(self, a: int) -> None: ..."),
        svc("async def f(self, a: int, b: int) -> None: ...  # <-"),
        ("PARAM_REQUIRED_ADDED",),
        'required parameter "b" was added',
    ),
    Case(
        "required_keyword_param_added",
        svc("async def f(self, a: int) -> None: ..."),
        svc("async def f(self, a: int, *, b: int) -> None: ..."),
        ("PARAM_REQUIRED_ADDED",),
    ),
    Case(
        "param_default_removed",
        svc("async def f(self, a: int, limit: int = 10) -> None: ..."),
        svc("async def f(self, a: int, limit: int) -> None: ...  # <-"),
        ("PARAM_DEFAULT_REMOVED",),
        'parameter "limit" lost its default (10)',
    ),
    Case(
        "param_float_to_int",
        svc("async def f(self, x: float) -> None: ..."),
        svc("async def f(self, x: int) -> None: ...  # <-"),
        ("PARAM_TYPE_CHANGED",),
        'svc.f: parameter "x" changed type from float to int',
    ),
    Case(
        "param_any_to_int",
        svc("async def f(self, x: typing.Any) -> None: ..."),
        svc("async def f(self, x: int) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
    ),
    Case(
        "result_to_any",
        svc("async def f(self) -> int: ..."),
        svc("async def f(self) -> typing.Any: ..."),
        ("RESULT_TYPE_CHANGED",),
    ),
    Case(
        "param_str_to_int",
        svc("async def f(self, x: str) -> None: ..."),
        svc("async def f(self, x: int) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
    ),
    Case(
        "param_optional_to_required_type",
        svc("async def f(self, x: str | None) -> None: ..."),
        svc("async def f(self, x: str) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "None is no longer accepted",
    ),
    Case(
        "param_str_to_uuid",
        svc("async def f(self, x: str) -> None: ..."),
        svc("async def f(self, x: uuid.UUID) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "from str to UUID",
    ),
    Case(
        "param_list_item_narrowed",
        svc("async def f(self, x: list[float]) -> None: ..."),
        svc("async def f(self, x: list[int]) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "from list[float] to list[int]",
    ),
    Case(
        "param_str_to_literal",
        svc("async def f(self, x: str) -> None: ..."),
        svc('async def f(self, x: Literal["a", "b"]) -> None: ...'),
        ("PARAM_TYPE_CHANGED",),
        "only the values of Literal['a', 'b'] are accepted now",
    ),
    Case(
        "param_constraint_tightened",
        svc("async def f(self, x: Annotated[int, msgspec.Meta(ge=0)]) -> None: ..."),
        svc("async def f(self, x: Annotated[int, msgspec.Meta(ge=1)]) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "constraints changed from ge=0 to ge=1",
    ),
    Case(
        "param_fixed_tuple_longer",
        svc("async def f(self, x: tuple[int, int]) -> None: ..."),
        svc("async def f(self, x: tuple[int, int, int]) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "it now has 3 items instead of 2",
    ),
    Case(
        "param_any_length_to_fixed",
        svc("async def f(self, x: list[int]) -> None: ..."),
        svc("async def f(self, x: tuple[int, int]) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "fixed length",
    ),
    Case(
        "param_dict_to_struct",
        ITEM + svc("async def f(self, x: dict[str, int]) -> None: ..."),
        ITEM + svc("async def f(self, x: Item) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
    ),
    Case(
        "param_moved",
        svc("async def f(self, a: int, b: int) -> None: ..."),
        svc("async def f(self, b: int, a: int) -> None: ..."),
        ("PARAM_MOVED", "PARAM_MOVED"),
        'parameter "a" moved from position 1 to 2',
    ),
    Case(
        "optional_param_inserted_before_another",
        svc("async def f(self, a: int, b: int = 0) -> None: ..."),
        svc("async def f(self, a: int, new: str = '', b: int = 0) -> None: ..."),
        ("PARAM_MOVED",),
        'parameter "b" moved from position 2 to 3',
    ),
    Case(
        "param_became_keyword_only",
        svc("async def f(self, a: int, b: int = 0) -> None: ..."),
        svc("async def f(self, a: int, *, b: int = 0) -> None: ...  # <-"),
        ("PARAM_KIND_CHANGED",),
        'parameter "b" became keyword-only',
    ),
    Case(
        "param_became_positional_only",
        svc("async def f(self, a: int) -> None: ..."),
        svc("async def f(self, a: int, /) -> None: ..."),
        ("PARAM_KIND_CHANGED",),
        'parameter "a" became positional-only',
    ),
    # -- results
    Case(
        "result_made_optional",
        ITEM + svc("async def f(self) -> Item: ..."),
        ITEM + svc("async def f(self) -> Item | None: ...  # <-"),
        ("RESULT_TYPE_CHANGED",),
        "svc.f: result changed type from Item to Item | None: it may now be None",
    ),
    Case(
        "result_optional_to_required",
        svc("async def f(self) -> int | None: ..."),
        svc("async def f(self) -> int: ..."),
        ("RESULT_TYPE_CHANGED",),
        "None is no longer accepted",
    ),
    Case(
        "result_int_to_float",
        svc("async def f(self) -> int: ..."),
        svc("async def f(self) -> float: ..."),
        ("RESULT_TYPE_CHANGED",),
    ),
    Case(
        "result_float_to_int",
        svc("async def f(self) -> float: ..."),
        svc("async def f(self) -> int: ..."),
        ("RESULT_TYPE_CHANGED",),
    ),
    Case(
        "result_literal_to_str",
        svc('async def f(self) -> Literal["a", "b"]: ...'),
        svc("async def f(self) -> str: ..."),
        ("RESULT_TYPE_CHANGED",),
        "it may now be any str",
    ),
    Case(
        "result_any_length_from_fixed",
        svc("async def f(self) -> tuple[int, int]: ..."),
        svc("async def f(self) -> list[int]: ..."),
        ("RESULT_TYPE_CHANGED",),
        "any length",
    ),
    Case(
        "result_namedtuple_grew",
        "class P(NamedTuple):\n    x: int\n    y: int\n\n\n"
        + svc("async def f(self) -> P: ..."),
        "class P(NamedTuple):\n    x: int\n    y: int\n    z: int = 0\n\n\n"
        + svc("async def f(self) -> P: ..."),
        ("RESULT_TYPE_CHANGED",),
        "may now have 3 items",
    ),
    # -- fields of types reachable from parameters and results
    Case(
        "field_removed_from_argument",
        "class Item(msgspec.Struct):  # <-\n    a: int\n    b: str = ''\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        "class Item(msgspec.Struct):  # <-\n    a: int\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        ("FIELD_REMOVED",),
        'svc.f (parameter "item"): field Item.b was removed',
    ),
    Case(
        "field_removed_from_result",
        ITEM + svc("async def f(self) -> list[Item]: ..."),
        "class Item(msgspec.Struct):\n    a: int\n\n\n"
        + svc("async def f(self) -> list[Item]: ..."),
        ("FIELD_REMOVED",),
        "svc.f (result): field Item.b was removed",
    ),
    Case(
        "field_renamed",
        "@dataclasses.dataclass\nclass Item:\n    a: int\n    b: str\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        "@dataclasses.dataclass\nclass Item:\n    a: int\n    c: str  # <-\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        ("FIELD_RENAMED",),
        "field Item.b was renamed to Item.c",
    ),
    Case(
        "field_retyped",
        ITEM + svc("async def f(self) -> Item: ..."),
        "class Item(msgspec.Struct):\n    a: str  # <-\n    b: str = ''\n\n\n"
        + svc("async def f(self) -> Item: ..."),
        ("FIELD_TYPE_CHANGED",),
        "svc.f (result): field Item.a changed type from int to str",
    ),
    Case(
        "nested_field_retyped",
        "class In(msgspec.Struct):\n    x: int\n\n\nclass Out(msgspec.Struct):\n"
        "    inner: dict[str, In]\n\n\n"
        + svc("async def f(self, o: Out) -> None: ..."),
        "class In(msgspec.Struct):\n    x: str  # <-\n\n\n"
        "class Out(msgspec.Struct):\n    inner: dict[str, In]\n\n\n"
        + svc("async def f(self, o: Out) -> None: ..."),
        ("FIELD_TYPE_CHANGED",),
        'svc.f (parameter "o"): field In.x changed type from int to str',
    ),
    Case(
        "required_field_added_to_argument",
        ITEM + svc("async def f(self, item: Item) -> None: ..."),
        "class Item(msgspec.Struct):\n    a: int\n    c: int  # <-\n    b: str = ''\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        ("FIELD_REQUIRED_ADDED",),
        'svc.f (parameter "item"): required field Item.c was added',
    ),
    Case(
        "required_field_added_to_result",
        ITEM + svc("async def f(self) -> Item: ..."),
        "class Item(msgspec.Struct):\n    a: int\n    c: int\n    b: str = ''\n\n\n"
        + svc("async def f(self) -> Item: ..."),
        ("FIELD_REQUIRED_ADDED",),
    ),
    Case(
        "field_default_removed_in_argument",
        ITEM + svc("async def f(self, item: Item) -> None: ..."),
        "class Item(msgspec.Struct):\n    a: int\n    b: str  # <-\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        ("FIELD_DEFAULT_REMOVED",),
        "field Item.b is now required",
    ),
    Case(
        "result_field_made_optional_in_typeddict",
        "class Stats(TypedDict):\n    users: int\n    admins: int\n\n\n"
        + svc("async def f(self) -> Stats: ..."),
        "class _Base(TypedDict):\n    users: int\n\n\n"
        "class Stats(_Base, total=False):\n    admins: int  # <-\n\n\n"
        + svc("async def f(self) -> Stats: ..."),
        ("FIELD_MADE_OPTIONAL",),
        "field Stats.admins may now be left out",
    ),
    Case(
        "field_added_to_closed_type",
        "class Item(msgspec.Struct, forbid_unknown_fields=True):\n    a: int\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        "class Item(msgspec.Struct, forbid_unknown_fields=True):\n    a: int\n"
        "    b: int = 0  # <-\n\n\n"
        + svc("async def f(self, item: Item) -> None: ..."),
        ("FIELD_ADDED_TO_CLOSED_TYPE",),
    ),
    Case(
        "field_added_to_closed_pydantic_model",
        "import pydantic\n\n\nclass P(pydantic.BaseModel):\n"
        "    model_config = pydantic.ConfigDict(extra='forbid')\n    a: int\n\n\n"
        + svc("async def f(self) -> P: ..."),
        "import pydantic\n\n\nclass P(pydantic.BaseModel):\n"
        "    model_config = pydantic.ConfigDict(extra='forbid')\n    a: int\n"
        "    b: int = 0  # <-\n\n\n" + svc("async def f(self) -> P: ..."),
        ("FIELD_ADDED_TO_CLOSED_TYPE",),
    ),
    Case(
        "result_field_no_longer_omittable",
        "class Stats(TypedDict, total=False):\n    users: int\n\n\n"
        + svc("async def f(self) -> Stats: ..."),
        "class Stats(TypedDict):\n    users: int  # <-\n\n\n"
        + svc("async def f(self) -> Stats: ..."),
        ("FIELD_DEFAULT_REMOVED",),
        "svc.f (result): field Stats.users is now required",
    ),
    Case(
        "pydantic_field_removed",
        "import pydantic\n\n\nclass P(pydantic.BaseModel):\n    a: int\n    b: str = ''\n\n\n"
        + svc("async def f(self, p: P) -> P: ..."),
        "import pydantic\n\n\nclass P(pydantic.BaseModel):\n    a: int\n\n\n"
        + svc("async def f(self, p: P) -> P: ..."),
        ("FIELD_REMOVED",),
        'svc.f (parameter "p"): field P.b was removed; also in svc.f (result)',
    ),
    Case(
        "namedtuple_field_retyped",
        "class P(NamedTuple):\n    x: int\n    y: int\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        "class P(NamedTuple):\n    x: int\n    y: str  # <-\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        ("FIELD_TYPE_CHANGED",),
        "field P.y changed type from int to str",
    ),
    Case(
        "namedtuple_field_default_removed",
        "class P(NamedTuple):\n    x: int\n    y: int = 0\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        "class P(NamedTuple):\n    x: int\n    y: int  # <-\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        ("FIELD_DEFAULT_REMOVED",),
        'svc.f (parameter "p"): field P.y is now required',
    ),
    Case(
        "recursive_type_field_removed",
        "class Node(msgspec.Struct):\n    value: int\n    label: str = ''\n"
        "    children: list[Node] = []\n\n\n" + svc("async def f(self) -> Node: ..."),
        "class Node(msgspec.Struct):\n    value: int\n    children: list[Node] = []\n\n\n"
        + svc("async def f(self) -> Node: ..."),
        ("FIELD_REMOVED",),
    ),
    Case(
        "struct_tag_changed",
        "class A(msgspec.Struct, tag='a'):\n    x: int\n\n\n"
        "class B(msgspec.Struct, tag='b'):\n    y: int\n\n\n"
        + svc("async def f(self, v: A | B) -> None: ..."),
        "class A(msgspec.Struct, tag='a2'):\n    x: int\n\n\n"
        "class B(msgspec.Struct, tag='b'):\n    y: int\n\n\n"
        + svc("async def f(self, v: A | B) -> None: ..."),
        ("PARAM_TYPE_CHANGED",),
        "A is no longer accepted",
    ),
    # -- enums and literals
    Case(
        "enum_member_removed_from_argument",
        ROLE + svc("async def f(self, role: Role) -> None: ..."),
        'class Role(str, enum.Enum):  # <-\n    CUSTOMER = "customer"\n\n\n'
        + svc("async def f(self, role: Role) -> None: ..."),
        ("ENUM_MEMBER_REMOVED",),
        "svc.f (parameter \"role\"): Role lost member ADMIN ('admin')",
    ),
    Case(
        "enum_member_added_to_result",
        ROLE + svc("async def f(self) -> list[Role]: ..."),
        'class Role(str, enum.Enum):\n    CUSTOMER = "customer"\n    ADMIN = "admin"\n'
        '    GUEST = "guest"  # <-\n\n\n' + svc("async def f(self) -> list[Role]: ..."),
        ("ENUM_MEMBER_ADDED",),
        "Role gained member GUEST ('guest')",
    ),
    Case(
        "int_enum_member_removed_from_result",
        "class P(enum.IntEnum):\n    LOW = 1\n    HIGH = 2\n\n\n"
        + svc("async def f(self) -> P: ..."),
        "class P(enum.IntEnum):\n    LOW = 1\n\n\n"
        + svc("async def f(self) -> P: ..."),
        ("ENUM_MEMBER_REMOVED",),
        "P lost member HIGH (2)",
    ),
    Case(
        "literal_value_removed",
        svc('async def f(self, mode: Literal["once", "repeat"] = "once") -> None: ...'),
        svc('async def f(self, mode: Literal["once"] = "once") -> None: ...'),
        ("ENUM_MEMBER_REMOVED",),
        "lost value 'repeat'",
    ),
    Case(
        "literal_value_added_to_result",
        svc('async def f(self) -> Literal["a", 1]: ...'),
        svc('async def f(self) -> Literal["a", "b", 1]: ...'),
        ("ENUM_MEMBER_ADDED",),
        "gained value 'b'",
    ),
    # -- declared errors
    Case(
        "error_removed",
        NOT_FOUND + svc("async def f(self) -> None: ...", extra=", errors=[NotFound]"),
        NOT_FOUND + svc("async def f(self) -> None: ...", extra=", errors=[]"),
        ("ERROR_REMOVED",),
        "svc: declared error NotFound was removed",
    ),
    Case(
        "error_code_changed",
        NOT_FOUND + svc("async def f(self) -> None: ..."),
        "class NotFound(autonats.ServiceError):  # <-\n    code = 410\n    id: str\n\n\n"
        + svc("async def f(self) -> None: ..."),
        ("ERROR_CODE_CHANGED",),
        "error NotFound changed code from 404 to 410",
    ),
    Case(
        "error_field_removed",
        NOT_FOUND + svc("async def f(self) -> None: ..."),
        "class NotFound(autonats.ServiceError):\n    code = 404\n\n\n"
        + svc("async def f(self) -> None: ..."),
        ("FIELD_REMOVED",),
        "svc (error NotFound): field NotFound.id was removed",
    ),
    Case(
        "error_field_retyped",
        NOT_FOUND + svc("async def f(self) -> None: ..."),
        "class NotFound(autonats.ServiceError):\n    code = 404\n    id: int  # <-\n\n\n"
        + svc("async def f(self) -> None: ..."),
        ("FIELD_TYPE_CHANGED",),
        "field NotFound.id changed type from str to int",
    ),
    Case(
        "error_required_field_added",
        NOT_FOUND + svc("async def f(self) -> None: ..."),
        "class NotFound(autonats.ServiceError):\n    code = 404\n    id: str\n"
        "    kind: str\n\n\n" + svc("async def f(self) -> None: ..."),
        ("FIELD_REQUIRED_ADDED",),
    ),
]

COMPATIBLE = [
    Case("identical", ITEM + svc("async def f(self, i: Item) -> Item: ..."), "", ()),
    Case(
        "new_method",
        svc("async def f(self) -> None: ..."),
        svc("async def f(self) -> None: ...", "async def g(self, x: int) -> int: ..."),
        (),
    ),
    Case(
        "new_service",
        svc("async def f(self) -> None: ..."),
        svc("async def f(self) -> None: ...")
        + svc("async def g(self) -> None: ...", name="other", cls="Other"),
        (),
    ),
    Case(
        "new_optional_param",
        svc("async def f(self, a: int) -> None: ..."),
        svc(
            "async def f(self, a: int, b: int = 0, *, c: str | None = None) -> None: ..."
        ),
        (),
    ),
    Case(
        "param_gained_a_default",
        svc("async def f(self, a: int) -> None: ..."),
        svc("async def f(self, a: int = 1) -> None: ..."),
        (),
    ),
    Case(
        "param_int_to_float",
        svc("async def f(self, x: int) -> None: ..."),
        svc("async def f(self, x: float) -> None: ..."),
        (),
    ),
    Case(
        "param_made_optional",
        svc("async def f(self, x: list[int]) -> None: ..."),
        svc("async def f(self, x: list[int] | None) -> None: ..."),
        (),
    ),
    Case(
        "param_uuid_to_str",
        svc("async def f(self, x: uuid.UUID) -> None: ..."),
        svc("async def f(self, x: str) -> None: ..."),
        (),
    ),
    Case(
        "param_literal_to_str",
        svc('async def f(self, x: Literal["a"]) -> None: ...'),
        svc("async def f(self, x: str) -> None: ..."),
        (),
    ),
    Case(
        "param_enum_member_added",
        ROLE + svc("async def f(self, role: Role) -> None: ..."),
        ROLE.replace('    ADMIN = "admin"\n', '    ADMIN = "admin"\n    GUEST = "g"\n')
        + svc("async def f(self, role: Role) -> None: ..."),
        (),
    ),
    Case(
        "param_constraint_loosened",
        svc(
            "async def f(self, x: Annotated[int, msgspec.Meta(ge=1, le=9)]) -> None: ..."
        ),
        svc("async def f(self, x: Annotated[int, msgspec.Meta(ge=0)]) -> None: ..."),
        (),
    ),
    Case(
        "keyword_only_params_reordered",
        svc("async def f(self, *, a: int, b: int) -> None: ..."),
        svc("async def f(self, *, b: int, a: int) -> None: ..."),
        (),
    ),
    Case(
        "keyword_only_became_positional",
        svc("async def f(self, a: int, *, b: int = 0) -> None: ..."),
        svc("async def f(self, a: int, b: int = 0) -> None: ..."),
        (),
    ),
    Case(
        "optional_field_added_everywhere",
        ITEM + svc("async def f(self, i: Item) -> Item: ..."),
        "class Item(msgspec.Struct):\n    a: int\n    z: list[int] = []\n"
        "    b: str = ''\n    c: int | None = None\n\n\n"
        + svc("async def f(self, i: Item) -> Item: ..."),
        (),
    ),
    Case(
        "argument_field_gained_a_default",
        ITEM + svc("async def f(self, i: Item) -> None: ..."),
        "class Item(msgspec.Struct):\n    a: int = 0\n    b: str = ''\n\n\n"
        + svc("async def f(self, i: Item) -> None: ..."),
        (),
    ),
    Case(
        "type_renamed_and_moved_to_another_kind",
        "@dataclasses.dataclass\nclass Item:\n    a: int\n    b: str = ''\n\n\n"
        + svc("async def f(self, i: list[Item]) -> Item: ..."),
        "class Thing(msgspec.Struct):\n    a: int\n    b: str = ''\n\n\n"
        + svc("async def f(self, i: tuple[Thing, ...]) -> Thing: ..."),
        (),
    ),
    Case(
        "namedtuple_field_renamed",
        "class P(NamedTuple):\n    x: int\n    y: int\n\n\n"
        + svc("async def f(self, p: P) -> P: ..."),
        "class P(NamedTuple):\n    lat: int\n    lon: int\n\n\n"
        + svc("async def f(self, p: P) -> P: ..."),
        (),
    ),
    Case(
        "namedtuple_grew_in_argument",
        "class P(NamedTuple):\n    x: int\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        "class P(NamedTuple):\n    x: int\n    y: int = 0\n\n\n"
        + svc("async def f(self, p: P) -> None: ..."),
        (),
    ),
    Case(
        "param_fixed_tuple_to_list",
        svc("async def f(self, x: tuple[int, int]) -> None: ..."),
        svc("async def f(self, x: list[float]) -> None: ..."),
        (),
    ),
    Case(
        "param_to_any_and_decimal_to_str",
        svc("async def f(self, x: list[int], d: decimal.Decimal) -> None: ..."),
        svc("async def f(self, x: typing.Any, d: str) -> None: ..."),
        (),
    ),
    Case(
        "struct_field_renamed_in_python_only",
        "class Item(msgspec.Struct, rename={'a_b': 'ab'}):\n    a_b: int\n\n\n"
        + svc("async def f(self, i: Item) -> Item: ..."),
        "class Item(msgspec.Struct, rename={'c_d': 'ab'}):\n    c_d: int\n\n\n"
        + svc("async def f(self, i: Item) -> Item: ..."),
        (),
    ),
    Case(
        "enum_member_renamed_same_value",
        ROLE + svc("async def f(self, r: Role) -> Role: ..."),
        ROLE.replace("ADMIN =", "ADMINISTRATOR =")
        + svc("async def f(self, r: Role) -> Role: ..."),
        (),
    ),
    Case(
        "new_declared_error_and_error_field_with_default",
        NOT_FOUND + svc("async def f(self) -> None: ..."),
        "class NotFound(autonats.ServiceError):\n    code = 404\n    id: str\n"
        "    hint: str = ''\n\n\n"
        "class Gone(autonats.ServiceError):\n    code = 410\n\n\n"
        + svc("async def f(self) -> None: ..."),
        (),
    ),
    Case(
        "minor_version_timeout_concurrency_and_docs",
        svc("async def f(self, x: int) -> int: ..."),
        svc(
            '"""Documented now."""',
            "@autonats.method(timeout=30, concurrency=1)\n"
            "async def f(self, x: int) -> int:\n    '''Doubles x.'''\n    ...",
            version="1.4.2",
        ),
        (),
    ),
    Case(
        "recursive_type_gained_optional_field",
        "class Node(msgspec.Struct):\n    value: int\n    children: list[Node] = []\n\n\n"
        + svc("async def f(self, n: Node) -> Node: ..."),
        "class Node(msgspec.Struct):\n    value: int\n    children: list[Node] = []\n"
        "    label: str = ''\n\n\n" + svc("async def f(self, n: Node) -> Node: ..."),
        (),
    ),
]


def test_every_rule_has_a_case() -> None:
    covered = {rule for case in BREAKING for rule in case.expect}
    assert set(RULES) - covered == {"MAJOR_VERSION_REMOVED"}, (
        "MAJOR_VERSION_REMOVED is tested in test_breaking_major.py; "
        f"every other rule needs a case: {sorted(set(RULES) - covered)}"
    )
    assert covered <= set(RULES)


@pytest.mark.parametrize("case", BREAKING, ids=lambda c: c.id)
def test_breaking_change(case: Case, tmp_path: Path) -> None:
    findings = compare(tmp_path, case.old, case.new)
    assert sorted(f.rule for f in findings) == sorted(case.expect), [
        f.message for f in findings
    ]
    first = findings[0]
    assert case.message in first.message
    new_file = tmp_path / "new" / "api.py"
    if "# <-" in case.new:
        assert (first.file, first.line) == (str(new_file), marked_line(new_file))
    assert first.file == str(new_file)
    assert first.line > 0
    assert not first.new_major or first.rule == "MAJOR_VERSION_CHANGED"


@pytest.mark.parametrize("case", COMPATIBLE, ids=lambda c: c.id)
def test_compatible_change(case: Case, tmp_path: Path) -> None:
    findings = compare(tmp_path, case.old, case.new or case.old)
    assert findings == []
