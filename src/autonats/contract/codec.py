"""JSON codec for arguments, results and errors, built on msgspec.

msgspec validates while it decodes, in C, so a typed call costs about what an
untyped ``json.loads`` would. pydantic models are supported through msgspec's
hooks when pydantic is installed.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from autonats.errors import EncodeError

__all__ = [
    "Param",
    "args_struct",
    "call_with",
    "convert",
    "decoder",
    "describe_validation_error",
    "encode",
    "is_pydantic_model",
]


class Param(msgspec.Struct, frozen=True):
    """One parameter of a method: its name, type and default (``inspect.Parameter.empty``
    when required). ``kind`` is an ``inspect.Parameter`` kind."""

    name: str
    type: Any
    default: Any = inspect.Parameter.empty
    kind: Any = inspect.Parameter.POSITIONAL_OR_KEYWORD


def is_pydantic_model(tp: object) -> bool:
    """True when ``tp`` is a pydantic ``BaseModel`` subclass (without importing pydantic)."""
    pydantic = sys.modules.get("pydantic")
    return (
        pydantic is not None
        and isinstance(tp, type)
        and issubclass(tp, pydantic.BaseModel)
    )


def _enc_hook(obj: Any) -> Any:
    if is_pydantic_model(type(obj)):
        return obj.model_dump(mode="json")
    raise NotImplementedError(f"objects of type {type(obj).__name__} are not supported")


def _dec_hook(tp: Any, obj: Any) -> Any:
    if is_pydantic_model(tp):
        return tp.model_validate(obj)
    raise NotImplementedError(f"type {tp!r} is not supported")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="string")


def encode(value: Any) -> bytes:
    """Encode ``value`` as JSON; raise :class:`~autonats.EncodeError` if it cannot be."""
    try:
        return _encoder.encode(value)
    except (TypeError, msgspec.EncodeError, NotImplementedError, ValueError) as exc:
        raise EncodeError(f"cannot encode {type(value).__name__}: {exc}") from None


def decoder(tp: Any) -> Callable[[bytes], Any]:
    """A function decoding JSON into ``tp``, validating as it goes.

    msgspec leaves a dataclass field that has a plain default and is missing
    from the JSON unset on the instance (reads find the class attribute), so
    encoding that instance again would omit the field. For types that hold
    such dataclasses the decoder sets those fields, so that a value decoded
    and sent back (a reply echoing its argument) carries every field.
    """
    decode = msgspec.json.Decoder(tp, dec_hook=_dec_hook).decode
    defaults: dict[type, tuple[tuple[str, Any], ...]] = {}
    _collect_defaults(msgspec.inspect.type_info(tp), defaults, set())
    if not any(defaults.values()):
        return decode

    def decode_filled(data: bytes) -> Any:
        value = decode(data)
        _fill_defaults(value, defaults)
        return value

    return decode_filled


def _collect_defaults(
    info: Any, found: dict[type, tuple[tuple[str, Any], ...]], seen: set[int]
) -> None:
    """Every dataclass reachable from ``info``, with its plain-default fields."""
    if id(info) in seen:
        return
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.DataclassType):
        found[info.cls] = tuple(
            (f.name, f.default)
            for f in dataclasses.fields(info.cls)
            if f.default is not dataclasses.MISSING
        )
    for attr in ("item_type", "key_type", "value_type"):
        sub = getattr(info, attr, None)
        if sub is not None:
            _collect_defaults(sub, found, seen)
    for attr in ("types", "item_types"):
        for sub in getattr(info, attr, ()) or ():
            _collect_defaults(sub, found, seen)
    for f in getattr(info, "fields", ()) or ():
        _collect_defaults(f.type, found, seen)


def _fill_defaults(
    value: Any, defaults: dict[type, tuple[tuple[str, Any], ...]]
) -> None:
    kind = type(value)
    if kind in defaults:
        own = getattr(value, "__dict__", None)
        if own is not None:
            for name, default in defaults[kind]:
                if name not in own:
                    object.__setattr__(value, name, default)
        for f in dataclasses.fields(value):
            _fill_defaults(getattr(value, f.name), defaults)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _fill_defaults(item, defaults)
    elif isinstance(value, dict):
        for item in value.values():
            _fill_defaults(item, defaults)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _fill_defaults(getattr(value, name), defaults)


def convert(obj: Any, tp: Any) -> Any:
    """Validate already-decoded JSON data against ``tp`` (used for error fields)."""
    return msgspec.convert(obj, tp, dec_hook=_dec_hook)


def args_struct(
    name: str, params: Sequence[Param], *, kw_only: bool = False
) -> type[msgspec.Struct]:
    """A Struct whose fields are a method's parameters, in order.

    Encoded it is exactly the wire's request object ``{"param": value, ...}``;
    decoding into it validates every argument in one pass. Unknown keys are
    ignored so that older handlers accept newer clients' optional parameters.
    """
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for p in params:
        if p.default is inspect.Parameter.empty:
            fields.append((p.name, p.type))
        else:
            fields.append((p.name, p.type, _struct_default(p.default)))
    return msgspec.defstruct(name, fields, kw_only=kw_only)


def _struct_default(value: Any) -> Any:
    # msgspec copies empty mutable defaults itself; anything else mutable gets a
    # factory so one call can never change another call's default.
    if isinstance(value, list | dict | set | bytearray) and value:
        return msgspec.field(default_factory=lambda: copy.deepcopy(value))
    return value


_PATH_RE = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING_RE = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


def describe_validation_error(
    exc: msgspec.ValidationError, *, what: str = "parameter"
) -> str:
    """Turn msgspec's message into one naming the parameter, e.g.
    ``parameter 'id': Expected `str`, got `int```."""
    text = str(exc)
    path = ""
    m = _PATH_RE.search(text)
    if m:
        path = m.group("path")
        text = text[: m.start()]
    missing = _MISSING_RE.match(text)
    if missing and not path:
        return f"missing required {what} '{missing.group('field')}'"
    if path.startswith("."):
        name, _, rest = path[1:].partition(".")
        head, bracket, tail = name.partition("[")
        where = f"{what} '{head}'"
        sub = (bracket + tail + ("." + rest if rest else "")).strip()
        if sub:
            where += f" at {sub}"
        return f"{where}: {text}"
    if path:
        return f"{text} (at {path})"
    if text.startswith("Expected `object`"):
        return f"the request body must be a JSON object of {what}s: {text}"
    return text


def call_with(
    func: Callable[..., Any], values: tuple[Any, ...], params: Sequence[Param]
) -> Any:
    """Call ``func`` with decoded argument ``values``, by keyword where the signature needs it."""
    positional = []
    keywords = {}
    for p, v in zip(params, values, strict=True):
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            keywords[p.name] = v
        else:
            positional.append(v)
    return func(*positional, **keywords)
