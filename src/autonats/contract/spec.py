"""The runtime description of a service, built once from its Protocol.

Generated modules call :func:`build` with the options the generator resolved;
the client and the handler read everything they need from the result, so the
Protocol stays the single source of truth for names and types.
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from autonats.contract import codec, wire
from autonats.contract.declare import Breaker, MethodOptions
from autonats.errors import DeclarationError, ServiceError

__all__ = [
    "MethodSpec",
    "ServiceSpec",
    "build",
    "error_fields",
    "is_stream_type",
    "resolve_method",
    "stream_item",
    "type_problem",
]

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONCURRENCY = 5
DEFAULT_QUEUE = 100


@dataclass(frozen=True, eq=False)
class MethodSpec:
    """Everything the runtime knows about one method.

    For a stream (``stream``), ``returns`` is the type of each item and
    ``timeout`` bounds the wait for each item (docs/protocol.md, section 11).
    """

    service: str
    name: str
    params: tuple[codec.Param, ...]
    returns: Any
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    oneway: bool = False
    durable: bool = False
    version: str = "0.0.0"  # the service's
    #: The callers' circuit breaker, as declared; None: none (a client may add one).
    breaker: Breaker | None = None
    stream: bool = False
    args_type: type[msgspec.Struct] = field(init=False, repr=False)
    args_decoder: Callable[[bytes], Any] = field(init=False, repr=False)
    reply_decoder: Callable[[bytes], Any] = field(init=False, repr=False)
    by_position: bool = field(init=False, repr=False)
    positional_struct: bool = field(init=False, repr=False)
    param_names: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A required keyword-only parameter may follow one with a default;
        # a positional Struct cannot express that, a keyword-only one can.
        seen_default = False
        positional = True
        for p in self.params:
            if p.default is inspect.Parameter.empty and seen_default:
                positional = False
            seen_default = seen_default or p.default is not inspect.Parameter.empty
        object.__setattr__(self, "positional_struct", positional)
        object.__setattr__(self, "param_names", tuple(p.name for p in self.params))
        args = codec.args_struct(
            f"{self.service}.{self.name}", self.params, kw_only=not positional
        )
        object.__setattr__(self, "args_type", args)
        object.__setattr__(self, "args_decoder", codec.decoder(args))
        object.__setattr__(self, "reply_decoder", codec.decoder(self.returns))
        object.__setattr__(
            self,
            "by_position",
            all(p.kind is not inspect.Parameter.KEYWORD_ONLY for p in self.params),
        )

    def subject(self, prefix: str) -> str:
        """``<prefix>.<service>.<method>``, or ``<prefix>.<service>.v<MAJOR>.<method>``
        for versions 1.0 and later (docs/protocol.md, section 1)."""
        return wire.method_subject(prefix, self.service, self.version, self.name)


@dataclass(frozen=True, eq=False)
class ServiceSpec:
    """A service: its name, version, description, methods and declared errors."""

    name: str
    protocol: type
    methods: Mapping[str, MethodSpec]
    errors: Mapping[str, type[ServiceError]]
    version: str = "0.0.0"
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def major(self) -> int:
        """The major version: services of different majors are different services
        on the wire (their subjects differ), served side by side."""
        return wire.major(self.version)


def build(
    protocol: type,
    *,
    name: str,
    methods: Mapping[str, MethodOptions],
    errors: Iterable[type[ServiceError]] = (),
    version: str = "0.0.0",
    metadata: Mapping[str, str] | None = None,
) -> ServiceSpec:
    """Describe ``protocol`` as service ``name`` with the given per-method options."""
    specs = {}
    for method_name, options in methods.items():
        params, returns = resolve_method(protocol, method_name)
        if options.stream:
            try:
                returns = stream_item(returns)
            except DeclarationError as exc:
                raise DeclarationError(f"method {method_name!r}: {exc}") from None
        specs[method_name] = MethodSpec(
            service=name,
            name=method_name,
            params=params,
            returns=returns,
            timeout=options.timeout if options.timeout is not None else DEFAULT_TIMEOUT,
            concurrency=(
                options.concurrency
                if options.concurrency is not None
                else DEFAULT_CONCURRENCY
            ),
            oneway=options.oneway,
            durable=options.durable,
            version=version,
            breaker=options.breaker,
            stream=options.stream,
        )
    return ServiceSpec(
        name=name,
        protocol=protocol,
        methods=specs,
        errors={e.__name__: e for e in errors},
        version=version,
        description=inspect.cleandoc(protocol.__doc__ or "")
        if _own_doc(protocol)
        else "",
        metadata=dict(metadata or {}),
    )


def _own_doc(protocol: type) -> bool:
    return bool(protocol.__dict__.get("__doc__"))


def resolve_method(protocol: type, name: str) -> tuple[tuple[codec.Param, ...], Any]:
    """The parameters (without ``self``) and return type of ``protocol.name``.

    Raises :class:`DeclarationError` (without a location) when they cannot be resolved.
    """
    func = getattr(protocol, name)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # NameError, TypeError, ... from user annotations
        raise DeclarationError(
            f"cannot resolve the annotations of {name!r}: {exc}; import every type "
            "the signature names at module level (not under TYPE_CHECKING)"
        ) from None
    signature = inspect.signature(func)
    params = []
    for p in list(signature.parameters.values())[1:]:
        if p.name not in hints:
            raise DeclarationError(
                f"parameter {p.name!r} of {name!r} has no type annotation"
            )
        params.append(codec.Param(p.name, hints[p.name], p.default, p.kind))
    if "return" not in hints:
        raise DeclarationError(
            f"method {name!r} has no return annotation; add '-> None' or a type"
        )
    return tuple(params), _none_type(hints["return"])


def _none_type(tp: Any) -> Any:
    return None if tp is type(None) else tp


_STREAM_TYPES = (collections.abc.AsyncIterator, collections.abc.AsyncGenerator)


def is_stream_type(tp: Any) -> bool:
    """Whether ``tp`` is ``AsyncIterator[...]`` or ``AsyncGenerator[...]``
    (``typing`` or ``collections.abc``, with or without arguments)."""
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp in _STREAM_TYPES or typing.get_origin(tp) in _STREAM_TYPES


def stream_item(tp: Any) -> Any:
    """The item type ``T`` of ``AsyncIterator[T]`` or ``AsyncGenerator[T, None]``.

    Raises :class:`DeclarationError` (without a location) for anything else.
    """
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin not in _STREAM_TYPES or not args:
        raise DeclarationError(
            "a stream returns AsyncIterator[T] or AsyncGenerator[T, None]: "
            "name the type T of its items"
        )
    if origin is collections.abc.AsyncGenerator and args[1] not in (None, type(None)):
        raise DeclarationError(
            "a stream cannot receive values (asend): declare "
            f"AsyncGenerator[{_type_name(args[0])}, None] or AsyncIterator[...]"
        )
    return _none_type(args[0])


def type_problem(tp: Any) -> str | None:
    """Why ``tp`` cannot travel over the wire, or None when it can."""
    try:
        info = msgspec.inspect.type_info(tp)
    except Exception as exc:
        return str(exc)
    bad = _first_custom(info, set())
    if bad is not None:
        return f"type {_type_name(bad)} is not supported"
    try:
        codec.decoder(tp)
    except Exception as exc:
        return str(exc)
    return None


def _first_custom(info: Any, seen: set[int]) -> Any:
    if id(info) in seen:
        return None
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.CustomType):
        return None if codec.is_pydantic_model(info.cls) else info.cls
    for attr in ("item_type", "key_type", "value_type"):
        sub = getattr(info, attr, None)
        if sub is not None and (found := _first_custom(sub, seen)) is not None:
            return found
    for attr in ("types", "item_types"):
        for sub in getattr(info, attr, ()) or ():
            if (found := _first_custom(sub, seen)) is not None:
                return found
    for f in getattr(info, "fields", ()) or ():
        if (found := _first_custom(f.type, seen)) is not None:
            return found
    return None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or repr(tp)


_error_fields: dict[type[ServiceError], dict[str, Any]] = {}


def error_fields(cls: type[ServiceError]) -> dict[str, Any]:
    """The annotated fields a ServiceError subclass carries (not ``code`` or private names)."""
    cached = _error_fields.get(cls)
    if cached is None:
        cached = _error_fields[cls] = _resolve_error_fields(cls)
    return cached


def _resolve_error_fields(cls: type[ServiceError]) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is ServiceError or not issubclass(klass, ServiceError):
            continue
        own = typing.get_type_hints(klass, include_extras=True)
        for key in inspect.get_annotations(klass):
            hints[key] = own[key]
    return {
        k: v
        for k, v in hints.items()
        if not k.startswith("_")
        and k not in ("code", "message")
        and typing.get_origin(v) is not typing.ClassVar
    }
