"""Python types -> TypeScript types of their JSON (docs/protocol.md, section 8).

Types are walked with ``msgspec.inspect`` (pydantic models through their
fields), so the TypeScript side describes exactly what the codec puts on the
wire. Every class reached (struct, dataclass, TypedDict, NamedTuple, pydantic
model, enum) becomes one named declaration.
"""

from __future__ import annotations

import enum
import inspect
import typing
from dataclasses import dataclass
from typing import Any

import msgspec
from autonats.codegen.typescript.layout import (
    TsType,
    array,
    atom,
    generic,
    literal,
    property_key,
    tuple_type,
    union,
)
from autonats.contract import codec
from autonats.errors import DeclarationError

__all__ = ["Declaration", "EnumConst", "Interface", "TupleAlias", "TypeMapper"]

_RT = "autonats"  # the runtime module, imported as a namespace

#: Values JSON has no type for travel as strings; the runtime names their formats.
_STRINGS: dict[type[msgspec.inspect.Type], str] = {
    msgspec.inspect.BytesType: "Base64String",
    msgspec.inspect.ByteArrayType: "Base64String",
    msgspec.inspect.MemoryViewType: "Base64String",
    msgspec.inspect.DateTimeType: "DateTimeString",
    msgspec.inspect.DateType: "DateString",
    msgspec.inspect.TimeType: "TimeString",
    msgspec.inspect.TimeDeltaType: "DurationString",
    msgspec.inspect.UUIDType: "UuidString",
    msgspec.inspect.DecimalType: "DecimalString",
}

_SCALARS: dict[type[msgspec.inspect.Type], str] = {
    msgspec.inspect.AnyType: "unknown",
    msgspec.inspect.RawType: "unknown",
    msgspec.inspect.NoneType: "null",
    msgspec.inspect.BoolType: "boolean",
    msgspec.inspect.IntType: "number",
    msgspec.inspect.FloatType: "number",
    msgspec.inspect.StrType: "string",
}

_ARRAYS = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


@dataclass(frozen=True)
class Interface:
    """An object type: ``export interface Name { ... }``."""

    name: str
    keys: tuple[str, ...]  # written as keys (quoted when needed)
    types: tuple[TsType, ...]
    optional: tuple[bool, ...]


@dataclass(frozen=True)
class TupleAlias:
    """A type encoded as an array of its fields: ``export type Name = [a: A, b?: B]``."""

    name: str
    type: TsType


@dataclass(frozen=True)
class EnumConst:
    """An enum: a const object of its members and the union of their values."""

    name: str
    members: tuple[tuple[str, str], ...]  # (key, literal value)


Declaration = Interface | TupleAlias | EnumConst


class TypeMapper:
    """Maps Python types to TypeScript, collecting a declaration per class reached."""

    def __init__(self) -> None:
        #: Declarations by name, in the order first reached (None while being built).
        self.declarations: dict[str, Declaration | None] = {}
        self._classes: dict[str, Any] = {}  # name -> the class it was taken from
        # Inside a pydantic model, bytes are what pydantic's JSON mode makes of
        # them: UTF-8 text unless the model says base64 (docs/protocol.md, 8).
        self._pydantic_bytes: str | None = None

    def map(self, tp: Any) -> TsType:
        """The TypeScript type of ``tp``'s JSON; raises DeclarationError when there is none."""
        return self._info(msgspec.inspect.type_info(tp))

    def _info(self, info: msgspec.inspect.Type) -> TsType:
        kind = type(info)
        if kind in _SCALARS:
            return atom(_SCALARS[kind])
        if kind in _STRINGS:
            if self._pydantic_bytes is not None and _STRINGS[kind] == "Base64String":
                return atom(self._pydantic_bytes)
            return atom(f"{_RT}.{_STRINGS[kind]}")
        if isinstance(info, msgspec.inspect.Metadata):
            return self._info(info.type)
        if isinstance(info, msgspec.inspect.UnionType):
            return union([self._info(t) for t in info.types])
        if isinstance(info, msgspec.inspect.LiteralType):
            return union([atom(literal(_plain(v))) for v in info.values])
        if isinstance(info, _ARRAYS):
            return array(self._info(info.item_type))
        if isinstance(info, msgspec.inspect.TupleType):
            return tuple_type([self._info(t) for t in info.item_types])
        if isinstance(info, msgspec.inspect.DictType):
            return self._dict(info)
        if isinstance(info, msgspec.inspect.EnumType):
            return atom(self._enum(info.cls))
        if isinstance(
            info,
            msgspec.inspect.StructType
            | msgspec.inspect.DataclassType
            | msgspec.inspect.TypedDictType
            | msgspec.inspect.NamedTupleType,
        ):
            return atom(self._record(info))
        if isinstance(info, msgspec.inspect.CustomType) and codec.is_pydantic_model(
            info.cls
        ):
            return atom(self._pydantic(info.cls))
        what = getattr(info, "cls", None) or type(info).__name__
        raise DeclarationError(f"type {what!r} has no JSON form for TypeScript")

    def _dict(self, info: msgspec.inspect.DictType) -> TsType:
        key = info.key_type
        if isinstance(key, msgspec.inspect.Metadata):
            key = key.type
        # JSON keys are strings: only string-valued enums and literals narrow them.
        narrow = (
            isinstance(key, msgspec.inspect.LiteralType)
            and all(isinstance(v, str) for v in key.values)
        ) or (
            isinstance(key, msgspec.inspect.EnumType)
            and all(isinstance(m.value, str) for m in key.cls)
        )
        key_type = self._info(key) if narrow else atom("string")
        record = generic("Record", key_type, self._info(info.value_type))
        return generic("Partial", record) if narrow else record

    # -- named declarations -----------------------------------------------------

    def _claim(self, cls: Any) -> tuple[str, bool]:
        """The declaration name of ``cls`` and whether it still has to be built."""
        if typing.get_origin(cls) is not None:
            raise DeclarationError(
                f"generic type {cls!r} is not supported by the TypeScript "
                "generator: use a concrete class"
            )
        name = cls.__name__
        taken = self._classes.get(name)
        if taken is cls:
            return name, False
        if taken is not None:
            raise DeclarationError(
                f"two types are named {name} ({_where(taken)} and {_where(cls)}): "
                "TypeScript declarations share one namespace; rename one of them"
            )
        self._classes[name] = cls
        self.declarations[name] = None  # reached first here: keeps its place
        return name, True

    def _enum(self, cls: type[enum.Enum]) -> str:
        name, new = self._claim(cls)
        if new:
            members = []
            for key, member in cls.__members__.items():
                value = member.value
                if isinstance(value, bool) or not isinstance(value, int | str):
                    raise DeclarationError(
                        f"enum {cls.__name__}: member {key} has the value {value!r}; "
                        "only str and int values have a JSON form"
                    )
                members.append((property_key(key), literal(value)))
            self.declarations[name] = EnumConst(name, tuple(members))
        return name

    def _record(self, info: Any) -> str:
        name, new = self._claim(info.cls)
        if not new:
            return name
        keys: list[str] = []
        types: list[TsType] = []
        optional: list[bool] = []
        tag_field = getattr(info, "tag_field", None)
        if tag_field is not None:  # a tagged union member carries its tag first
            keys.append(tag_field)
            types.append(atom(literal(info.tag)))
            optional.append(False)
        for f in _declared_order(info):
            keys.append(f.encode_name)
            types.append(self._info(f.type))
            optional.append(not f.required)
        if isinstance(info, msgspec.inspect.NamedTupleType) or getattr(
            info, "array_like", False
        ):
            labels = [_label(k, i) for i, k in enumerate(keys)]
            self.declarations[name] = TupleAlias(
                name, tuple_type(types, labels, _trailing(optional))
            )
        else:
            self.declarations[name] = Interface(
                name,
                tuple(property_key(k) for k in keys),
                tuple(types),
                tuple(optional),
            )
        return name

    def _pydantic(self, cls: Any) -> str:
        # The codec sends model_dump(mode="json"): every field, by field name.
        name, new = self._claim(cls)
        if not new:
            return name
        fields = cls.model_fields
        outer = self._pydantic_bytes
        base64 = cls.model_config.get("ser_json_bytes") == "base64"
        self._pydantic_bytes = f"{_RT}.Base64String" if base64 else "string"
        try:
            types = tuple(self.map(f.annotation) for f in fields.values())
        finally:
            self._pydantic_bytes = outer
        self.declarations[name] = Interface(
            name,
            tuple(property_key(k) for k in fields),
            types,
            tuple(not f.is_required() for f in fields.values()),
        )
        return name

    def declared(self) -> list[Declaration]:
        """Every declaration, in the order its class was first reached."""
        return [d for d in self.declarations.values() if d is not None]


def _declared_order(info: Any) -> list[Any]:
    """The fields in declaration order (msgspec sorts a TypedDict's by name)."""
    fields = list(info.fields)
    if isinstance(info, msgspec.inspect.TypedDictType):
        order = list(typing.get_type_hints(info.cls))
        fields.sort(
            key=lambda f: order.index(f.name) if f.name in order else len(order)
        )
    return fields


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _label(key: str, index: int) -> str:
    # A tuple label must be an identifier; a renamed field may not be one.
    return key if key.isidentifier() and key.isascii() else f"field{index}"


def _trailing(optional: list[bool]) -> list[bool]:
    """Only a tail of tuple elements can be optional in TypeScript."""
    out = list(optional)
    required_after = False
    for i in range(len(out) - 1, -1, -1):
        if not out[i]:
            required_after = True
        elif required_after:
            out[i] = False
    return out


def _where(cls: Any) -> str:
    module = getattr(cls, "__module__", "?")
    try:
        line = inspect.getsourcelines(cls)[1]
        file = inspect.getsourcefile(cls) or module
        return f"{file.rpartition('/')[2]}:{line}"
    except (OSError, TypeError):
        return f"{module}.{cls.__qualname__}"
