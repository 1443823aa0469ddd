"""How JSON types relate: which family a type belongs to, which decoder
accepts which values, and how a type reads in a message.

A "family" is a JSON type (string, number, array, object...). msgspec allows
one member of each family in a union (tagged Structs apart), so the members
of two versions of a union pair up by family.
"""

from __future__ import annotations

from typing import Any

import msgspec
from autonats.codegen.describe import (
    Array,
    Choice,
    Contract,
    Dict,
    Member,
    Ref,
    Scalar,
    Tuple,
    Type,
    Union_,
)

__all__ = [
    "REPLY",
    "REQUEST",
    "accepts",
    "constraint_change",
    "family",
    "looser",
    "member_text",
    "members",
    "show",
    "value_family",
    "value_key",
]

#: Directions a value travels: from callers, or from handlers.
REQUEST = "request"
REPLY = "reply"


def show(t: Type, contract: Contract) -> str:
    """``t`` as Python writes it: ``list[User] | None``."""
    if isinstance(t, Scalar):
        return t.name
    if isinstance(t, Choice):
        if t.name != "Literal":
            return t.name
        return f"Literal[{', '.join(repr(m.value) for m in t.members)}]"
    if isinstance(t, Array):
        item = show(t.item, contract)
        return f"tuple[{item}, ...]" if t.name == "tuple" else f"{t.name}[{item}]"
    if isinstance(t, Tuple):
        return f"tuple[{', '.join(show(i, contract) for i in t.items)}]"
    if isinstance(t, Dict):
        return f"dict[{show(t.key, contract)}, {show(t.value, contract)}]"
    if isinstance(t, Ref):
        return contract.types[t.id].name
    return " | ".join(show(m, contract) for m in t.members)


def value_key(value: Any) -> tuple[str, Any]:
    # True == 1 in Python; on the wire they differ.
    return (type(value).__name__, value)


def member_text(m: Member, choice: Choice) -> str:
    if choice.name == "Literal":
        return f"value {m.value!r}"
    return f"member {m.name} ({m.value!r})"


def value_family(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if value is None:
        return "null"
    return "str"


def members(t: Type, contract: Contract) -> list[Type]:
    """The members of a union, with a Literal of mixed values split by JSON type."""
    if isinstance(t, Union_):
        return [m for member in t.members for m in members(member, contract)]
    if isinstance(t, Choice):
        families: dict[str, list[Member]] = {}
        for m in t.members:
            families.setdefault(value_family(m.value), []).append(m)
        if len(families) > 1:
            return [
                msgspec.structs.replace(t, members=tuple(ms))
                for ms in families.values()
            ]
    return [t]


def family(t: Type, contract: Contract) -> str:
    """The JSON type of ``t``: msgspec allows one member of each per union
    (tagged Structs apart), so members of two unions pair up by it."""
    if isinstance(t, Scalar):
        return t.kind
    if isinstance(t, Choice):
        return value_family(t.members[0].value) if t.members else "str"
    if isinstance(t, Array | Tuple):
        return "array"
    if isinstance(t, Ref):
        obj = contract.types[t.id]
        if obj.array_like:
            return "array"
        return "object" if obj.tag is None else f"object:{obj.tag!r}"
    return "object"


def accepts(decoder: Type, value: Type) -> bool:
    """Whether a decoder of ``decoder`` accepts values of another JSON type."""
    if isinstance(decoder, Scalar) and decoder.kind == "any":
        return True
    is_int = (isinstance(value, Scalar) and value.kind == "int") or (
        isinstance(value, Choice) and family(value, _EMPTY) == "int"
    )
    # A float parameter accepts JSON integers.
    return (
        is_int
        and isinstance(decoder, Scalar)
        and decoder.kind == "float"
        and not decoder.constraints
    )


_EMPTY = Contract(file="", services=(), types={})

_LOWER = ("gt", "ge", "min_length")
_UPPER = ("lt", "le", "max_length")


def looser(old: dict[str, Any], new: dict[str, Any], d: str) -> bool:
    """Whether values within ``old``'s bounds stay within ``new``'s (and, for
    replies, the other way round too)."""
    if d == REPLY:
        return old == new
    for name, value in new.items():
        before = old.get(name)
        if before is None:
            return False
        if name in _LOWER and value > before:
            return False
        if name in _UPPER and value < before:
            return False
        if name not in _LOWER + _UPPER and value != before:
            return False
    return True


def constraint_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    def text(c: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in sorted(c.items())) or "none"

    return f"its constraints changed from {text(old)} to {text(new)}"
