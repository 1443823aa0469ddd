"""Declarations -> a description of the contract as it travels: services,
methods, their kinds, parameters and results as JSON (wire) types, errors.

``autonats breaking`` compares two descriptions. They hold no Python objects,
only names, wire types and where each thing is declared (``file``, ``line``),
so a description is plain data: ``msgspec.json.encode`` writes it, and two
versions of one interface can be described one after the other and compared
once both modules are gone (:func:`load` imports each in isolation).

Types are described as JSON sees them (docs/protocol.md, section 8): a
dataclass, a Struct, a TypedDict and a pydantic model are all an object of
fields; a list, a set and ``tuple[X, ...]`` are all an array; an Enum is the
set of its values. Named object types live once in :attr:`Contract.types`
and are referred to by :class:`Ref`, so recursive types terminate.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

import msgspec
import msgspec.inspect as mi
from autonats.codegen import model
from autonats.codegen.parse import parse
from autonats.contract import codec, spec, wire

__all__ = [
    "Array",
    "Choice",
    "Contract",
    "Dict",
    "Error",
    "Field",
    "Member",
    "Method",
    "Object",
    "Param",
    "Ref",
    "Scalar",
    "Service",
    "Tuple",
    "Type",
    "Union_",
    "describe",
    "import_root",
    "load",
    "method_kind",
]


# -- the description -----------------------------------------------------------


class Scalar(msgspec.Struct, frozen=True, omit_defaults=True, tag="scalar"):
    """A JSON scalar: ``kind`` is any, null, bool, int, float or str.

    ``format`` narrows a str: date-time, date, time, duration, uuid, decimal
    or bytes (base64). ``constraints`` are msgspec ``Meta`` bounds (ge, le,
    max_length, pattern...). ``name`` is how Python writes the type.
    """

    kind: str
    name: str
    format: str = ""
    constraints: dict[str, Any] = {}


class Member(msgspec.Struct, frozen=True, omit_defaults=True):
    """One value of an Enum (``name`` is the member's) or of a Literal."""

    name: str
    value: Union[str, int, bool, None]  # noqa: UP007 (msgspec reads it at run time)
    line: int = 0


class Choice(msgspec.Struct, frozen=True, omit_defaults=True, tag="choice"):
    """An Enum or a Literal: on the wire, one of a fixed set of values."""

    name: str  # the Enum's name, or "Literal"
    members: tuple[Member, ...]
    file: str = ""
    line: int = 0


class Array(msgspec.Struct, frozen=True, omit_defaults=True, tag="array"):
    """A JSON array of any length: list, set, frozenset, ``tuple[X, ...]``."""

    name: str
    item: Type


class Tuple(msgspec.Struct, frozen=True, omit_defaults=True, tag="tuple"):
    """A JSON array of fixed length: ``tuple[X, Y]``."""

    items: tuple[Type, ...]


class Dict(msgspec.Struct, frozen=True, omit_defaults=True, tag="dict"):
    """A JSON object with arbitrary keys: ``dict[K, V]``."""

    key: Type
    value: Type


class Ref(msgspec.Struct, frozen=True, omit_defaults=True, tag="ref"):
    """An object type, described once in :attr:`Contract.types` under ``id``."""

    id: str


class Union_(msgspec.Struct, frozen=True, omit_defaults=True, tag="union"):
    """Any of ``members`` (``X | None`` is a union with the null scalar)."""

    members: tuple[Type, ...]


Type = Union[Scalar, Choice, Array, Tuple, Dict, Ref, Union_]  # noqa: UP007


class Field(msgspec.Struct, frozen=True, omit_defaults=True):
    """A field of an object type or of a declared error.

    ``wire`` is its name in JSON (``name`` in Python). ``required``: a decoder
    rejects a value without it. ``omittable``: an encoder may leave it out
    (TypedDict keys that are not required, ``omit_defaults`` Structs).
    """

    name: str
    wire: str
    type: Type
    required: bool
    omittable: bool = False
    line: int = 0


class Object(msgspec.Struct, frozen=True, omit_defaults=True):
    """A type of named fields: a JSON object, or an array when ``array_like``
    (NamedTuple, ``array_like`` Struct: fields by position)."""

    id: str
    name: str
    kind: str  # struct, dataclass, typeddict, namedtuple, pydantic
    fields: tuple[Field, ...]
    array_like: bool = False
    closed: bool = False  # rejects unknown fields (forbid_unknown_fields)
    tag_field: str | None = None
    tag: Union[str, int, None] = None  # noqa: UP007
    file: str = ""
    line: int = 0


class Param(msgspec.Struct, frozen=True, omit_defaults=True):
    """A parameter: ``kind`` is positional_only, positional or keyword_only."""

    name: str
    type: Type
    required: bool
    kind: str
    default: str | None = None  # source text of the default, for messages
    line: int = 0


class Method(msgspec.Struct, frozen=True, omit_defaults=True):
    """A method: ``kind`` is how it is called (see :func:`method_kind`)."""

    name: str
    kind: str
    params: tuple[Param, ...]
    returns: Type
    subject: str  # with the default prefix
    line: int = 0
    file: str = ""  # where it is declared (a base Protocol may be elsewhere)


class Error(msgspec.Struct, frozen=True, omit_defaults=True):
    """A declared error: it travels by ``name``, with its ``code`` and fields."""

    name: str
    code: int
    fields: tuple[Field, ...]
    file: str = ""
    line: int = 0


class Service(msgspec.Struct, frozen=True, omit_defaults=True):
    """A service: name, version, methods and declared errors."""

    name: str
    version: str
    protocol: str  # the Protocol class's name
    methods: tuple[Method, ...]
    errors: tuple[Error, ...]
    file: str = ""
    line: int = 0

    @property
    def major(self) -> int:
        """The major version (``2`` for ``2.1.0``)."""
        return int(self.version.partition(".")[0])


class Contract(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything one interface file declares, as it travels."""

    file: str
    services: tuple[Service, ...]
    types: dict[str, Object]


# -- kinds of call -------------------------------------------------------------

#: How a kind of call reads in messages.
KIND_NAMES = {
    "request": "request/reply",
    "oneway": "oneway",
    "durable": "durable oneway",
    "stream": "stream",
}


def method_kind(method: spec.MethodSpec) -> str:
    """request, oneway, durable or stream: the one field a new kind of call extends."""
    if method.durable:
        return "durable"
    if method.oneway:
        return "oneway"
    if method.stream:
        return "stream"
    return "request"


# -- loading an interface in isolation -----------------------------------------


def import_root(path: Path) -> Path:
    """The folder that must be on ``sys.path`` to import the file at ``path``
    (its folder, or above the packages holding it)."""
    root = path.resolve().parent
    while (root / "__init__.py").exists():
        root = root.parent
    return root


def load(path: str | Path) -> Contract:
    """Describe the interface file at ``path``.

    The file and the modules beside it (its siblings, its packages) are
    imported from its folder: modules of the same names imported from
    elsewhere are set aside meanwhile, and what the load imported is removed
    from ``sys.modules`` afterwards. So two versions of one interface, each
    importing its own ``models``, load one after the other in one process.
    Raises :class:`~autonats.DeclarationError` when the declarations are wrong.
    """
    with _isolated(import_root(Path(path))):
        return describe(parse(path))


def _local_names(root: Path) -> set[str]:
    """Top-level modules and packages in ``root`` that its files may import.

    Never the standard library's names nor autonats: both versions share
    those with the process (a local ``json/`` folder must not make this
    process import ``json`` again).
    """
    names = set()
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif (entry / "__init__.py").is_file():
                names.add(entry.name)
    shared = {"autonats", *sys.stdlib_module_names, *sys.builtin_module_names}
    return {n for n in names if n.isidentifier() and n not in shared}


@contextlib.contextmanager
def _isolated(root: Path) -> Iterator[None]:
    local = _local_names(root)

    def under_root(module: Any) -> bool:
        file = getattr(module, "__file__", None)
        return isinstance(file, str) and Path(file).resolve().is_relative_to(root)

    def is_local(name: str, module: Any) -> bool:
        return name.partition(".")[0] in local or under_root(module)

    def shadowed(name: str, module: Any) -> bool:
        # A module of a name the folder provides, imported from elsewhere (the
        # other version's folder): this load must import the folder's own.
        return name.partition(".")[0] in local and not under_root(module)

    saved_path = list(sys.path)
    saved = dict(sys.modules)
    for name, module in saved.items():
        if shadowed(name, module):
            del sys.modules[name]
    sys.path[:] = [str(root), *(p for p in saved_path if p != str(root))]
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            if saved.get(name) is not module and is_local(name, module):
                del sys.modules[name]
        for name, module in saved.items():
            sys.modules.setdefault(name, module)
        importlib.invalidate_caches()


# -- model -> description ------------------------------------------------------


def describe(module: model.Module) -> Contract:
    """The description of a parsed interface (its classes must be importable)."""
    builder = _Builder()
    services = tuple(builder.service(s) for s in module.services)
    file = services[0].file if services else module.source
    return Contract(file=file, services=services, types=builder.types)


class _Builder:
    def __init__(self) -> None:
        self.types: dict[str, Object] = {}
        self._visiting: set[str] = set()
        self._lines = _Lines()

    # services, methods, errors

    def service(self, service: model.Service) -> Service:
        built = service.spec()
        cls = built.protocol
        file, line = self._lines.of_class(cls)
        sources = {m.name: m for m in service.methods}
        methods = tuple(
            self.method(cls, m, sources[m.name]) for m in built.methods.values()
        )
        errors = tuple(self.error(e.cls) for e in service.errors)
        return Service(
            name=built.name,
            version=built.version,
            protocol=cls.__qualname__,
            methods=methods,
            errors=errors,
            file=file,
            line=line,
        )

    def method(self, cls: type, m: spec.MethodSpec, source: model.Method) -> Method:
        file, line, param_lines = self._lines.of_method(cls, m.name)
        defaults = {p.name: p.default for p in source.params}
        params = tuple(
            Param(
                name=p.name,
                type=self.of(p.type),
                required=p.default is inspect.Parameter.empty,
                kind=_PARAM_KINDS[p.kind],
                default=defaults.get(p.name),
                line=param_lines.get(p.name, line),
            )
            for p in m.params
        )
        return Method(
            name=m.name,
            kind=method_kind(m),
            params=params,
            returns=self.of(m.returns),
            subject=m.subject(wire.DEFAULT_PREFIX),
            line=line,
            file=file,
        )

    def error(self, cls: Any) -> Error:
        file, line = self._lines.of_class(cls)
        fields = []
        for name, tp in spec.error_fields(cls).items():
            # A class attribute is what a client reads when a reply lacks the field.
            has_default = any(name in k.__dict__ for k in cls.__mro__)
            fields.append(
                Field(
                    name=name,
                    wire=name,
                    type=self.of(tp),
                    required=not has_default,
                    line=self._lines.of_field(cls, name),
                )
            )
        return Error(
            name=cls.__name__,
            code=int(cls.code),
            fields=tuple(fields),
            file=file,
            line=line,
        )

    # types

    def of(self, tp: Any) -> Type:
        if tp is None:
            return Scalar("null", "None")
        return self.info(mi.type_info(tp))

    def info(self, t: mi.Type) -> Type:
        while isinstance(t, mi.Metadata):
            t = t.type
        scalar = _SCALARS.get(type(t))
        if scalar is not None:
            kind, name, fmt = scalar
            return Scalar(kind, name, fmt, _constraints(t))
        if isinstance(t, mi.EnumType):
            return self.enum(t.cls)
        if isinstance(t, mi.LiteralType):
            return _literal(t.values)
        if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            return Array(_ARRAY_NAMES[type(t)], self.info(t.item_type))
        if isinstance(t, mi.TupleType):
            return Tuple(tuple(self.info(i) for i in t.item_types))
        if isinstance(t, mi.DictType):
            return Dict(self.info(t.key_type), self.info(t.value_type))
        if isinstance(t, mi.UnionType):
            return Union_(tuple(self.info(m) for m in t.types))
        if isinstance(t, mi.StructType):
            config = t.cls.__struct_config__
            return self.object(
                t.cls,
                "struct",
                t.fields,
                array_like=t.array_like,
                closed=t.forbid_unknown_fields,
                omit_defaults=config.omit_defaults,
                tag_field=t.tag_field,
                tag=t.tag,
            )
        if isinstance(t, mi.DataclassType):
            return self.object(t.cls, "dataclass", t.fields)
        if isinstance(t, mi.TypedDictType):
            return self.object(t.cls, "typeddict", t.fields, omit_defaults=True)
        if isinstance(t, mi.NamedTupleType):
            return self.object(t.cls, "namedtuple", t.fields, array_like=True)
        if isinstance(t, mi.CustomType) and codec.is_pydantic_model(t.cls):
            return self.pydantic(t.cls)
        # ExtType, Raw and anything msgspec adds later: judged by name only.
        return Scalar("any", _type_name(getattr(t, "cls", type(t))))

    def enum(self, cls: Any) -> Choice:
        file, line = self._lines.of_class(cls)
        members = tuple(
            Member(m.name, m.value, self._lines.of_field(cls, m.name)) for m in cls
        )
        return Choice(cls.__qualname__, members, file, line)

    def object(
        self,
        cls: Any,
        kind: str,
        fields: tuple[mi.Field, ...],
        *,
        array_like: bool = False,
        closed: bool = False,
        omit_defaults: bool = False,
        tag_field: str | None = None,
        tag: str | int | None = None,
    ) -> Ref:
        key = _type_id(cls)
        if key in self.types or key in self._visiting:
            return Ref(key)
        self._visiting.add(key)
        try:
            file, line = self._lines.of_class(cls)
            described = tuple(
                Field(
                    name=f.name,
                    wire=f.encode_name,
                    type=self.info(f.type),
                    required=f.required,
                    omittable=omit_defaults and not f.required,
                    line=self._lines.of_field(cls, f.name),
                )
                for f in fields
            )
            self.types[key] = Object(
                id=key,
                name=_type_name(cls),
                kind=kind,
                fields=described,
                array_like=array_like,
                closed=closed,
                tag_field=tag_field,
                tag=tag,
                file=file,
                line=line,
            )
        finally:
            self._visiting.discard(key)
        return Ref(key)

    def pydantic(self, cls: Any) -> Ref:
        key = _type_id(cls)
        if key in self.types or key in self._visiting:
            return Ref(key)
        self._visiting.add(key)
        try:
            file, line = self._lines.of_class(cls)
            fields = []
            # autonats encodes a model with model_dump(mode="json"): by field name.
            for name, info in cls.model_fields.items():
                try:
                    tp: Type = self.of(info.annotation)
                except (TypeError, ValueError):
                    tp = Scalar("any", _type_name(info.annotation))
                fields.append(
                    Field(
                        name=name,
                        wire=name,
                        type=tp,
                        required=info.is_required(),
                        line=self._lines.of_field(cls, name),
                    )
                )
            self.types[key] = Object(
                id=key,
                name=_type_name(cls),
                kind="pydantic",
                fields=tuple(fields),
                closed=cls.model_config.get("extra") == "forbid",
                file=file,
                line=line,
            )
        finally:
            self._visiting.discard(key)
        return Ref(key)


_PARAM_KINDS: dict[Any, str] = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
}

# msgspec type -> (kind, Python name, str format)
_SCALARS: dict[type, tuple[str, str, str]] = {
    mi.AnyType: ("any", "Any", ""),
    mi.NoneType: ("null", "None", ""),
    mi.BoolType: ("bool", "bool", ""),
    mi.IntType: ("int", "int", ""),
    mi.FloatType: ("float", "float", ""),
    mi.StrType: ("str", "str", ""),
    mi.BytesType: ("str", "bytes", "bytes"),
    mi.ByteArrayType: ("str", "bytearray", "bytes"),
    mi.MemoryViewType: ("str", "memoryview", "bytes"),
    mi.DateTimeType: ("str", "datetime", "date-time"),
    mi.DateType: ("str", "date", "date"),
    mi.TimeType: ("str", "time", "time"),
    mi.TimeDeltaType: ("str", "timedelta", "duration"),
    mi.UUIDType: ("str", "UUID", "uuid"),
    mi.DecimalType: ("str", "Decimal", "decimal"),
}

_ARRAY_NAMES: dict[type, str] = {
    mi.ListType: "list",
    mi.SetType: "set",
    mi.FrozenSetType: "frozenset",
    mi.VarTupleType: "tuple",
}

_CONSTRAINTS = (
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "min_length",
    "max_length",
    "pattern",
)


def _constraints(t: Any) -> dict[str, Any]:
    found = {}
    for name in _CONSTRAINTS:
        value = getattr(t, name, None)
        if value is not None:
            found[name] = value
    return found


def _literal(values: tuple[Any, ...]) -> Type:
    members = tuple(Member(repr(v), v) for v in values if v is not None)
    choice = Choice("Literal", members)
    if len(members) == len(values):
        return choice
    # Literal[..., None] is msgspec's Optional of the other values.
    return (
        Union_((choice, Scalar("null", "None"))) if members else Scalar("null", "None")
    )


def _type_id(cls: Any) -> str:
    args = typing.get_args(cls)
    origin = typing.get_origin(cls) or cls
    base = f"{getattr(origin, '__module__', '?')}.{getattr(origin, '__qualname__', repr(origin))}"
    return f"{base}{list(map(_type_name, args))}" if args else base


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None)
    return str(name) if name else repr(tp)


# -- where things are declared -------------------------------------------------


class _Lines:
    """Lines of classes, fields, methods and parameters, from each file's ``ast``."""

    def __init__(self) -> None:
        self._trees: dict[str, ast.Module | None] = {}

    def _file(self, cls: Any) -> str:
        module = sys.modules.get(getattr(cls, "__module__", ""), None)
        file = getattr(module, "__file__", None)
        return str(Path(file).resolve()) if file else ""

    def _node(self, cls: Any) -> tuple[str, ast.ClassDef | None]:
        file = self._file(cls)
        if not file:
            return "", None
        if file not in self._trees:
            try:
                self._trees[file] = ast.parse(Path(file).read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError):
                self._trees[file] = None
        tree = self._trees[file]
        body: list[ast.stmt] = tree.body if tree is not None else []
        found: ast.ClassDef | None = None
        for part in getattr(cls, "__qualname__", "").split("."):
            found = next(
                (n for n in body if isinstance(n, ast.ClassDef) and n.name == part),
                None,
            )
            if found is None:
                return file, None
            body = found.body
        return file, found

    def of_class(self, cls: Any) -> tuple[str, int]:
        file, node = self._node(cls)
        return file, node.lineno if node is not None else 0

    def of_field(self, cls: Any, name: str) -> int:
        """The line of ``name`` in the class of ``cls``'s MRO that declares it."""
        for klass in getattr(cls, "__mro__", (cls,)):
            _, node = self._node(klass)
            if node is None:
                continue
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and _named(item.target, name):
                    return item.lineno
                if isinstance(item, ast.Assign) and any(
                    _named(t, name) for t in item.targets
                ):
                    return item.lineno
        return self.of_class(cls)[1]

    def of_method(self, cls: type, name: str) -> tuple[str, int, dict[str, int]]:
        """The file and line of method ``name`` and the line of each of its
        parameters, from the class of ``cls``'s MRO that defines it."""
        for klass in cls.__mro__:
            if name not in klass.__dict__:
                continue
            file, node = self._node(klass)
            for item in node.body if node is not None else ():
                if (
                    isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name == name
                ):
                    args = item.args
                    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    return file, item.lineno, {a.arg: a.lineno for a in every}
            break
        return (*self.of_class(cls), {})


def _named(target: ast.expr, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name
