"""Declarations -> model: import an interface file, find its services, check them.

Every mistake becomes a :class:`~autonats.errors.DeclarationError` that reads
``file:line: what is wrong and how to fix it``.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import importlib.util
import inspect
import re
import sys
import traceback
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autonats.codegen import model
from autonats.contract import codec, spec, wire
from autonats.contract.declare import (
    NAME_RE,
    MethodOptions,
    ServiceOptions,
    method_options,
    service_options,
)
from autonats.errors import DeclarationError, ServiceError

__all__ = ["parse", "pascal_case"]

_COMMENT_RE = re.compile(r"^\s*#\s*@nats:server\s+(?P<name>\S+)\s*$")
_PROTOCOL_BASES = {"Protocol", "Generic", "object"}


def pascal_case(name: str) -> str:
    """``user`` -> ``User``, ``user_profile`` / ``user-profile`` -> ``UserProfile``."""
    parts = [p for p in re.split(r"[_\-]+", name) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


@dataclass
class _Source:
    path: Path
    display: str
    module: types.ModuleType
    tree: ast.Module
    lines: list[str]

    def error(self, message: str, line: int) -> DeclarationError:
        return DeclarationError(message, file=self.display, line=line)


def parse(
    path: str | Path,
    *,
    timeout: float = spec.DEFAULT_TIMEOUT,
    concurrency: int = spec.DEFAULT_CONCURRENCY,
    tracing: bool = False,
) -> model.Module:
    """Read the interface file at ``path`` into the generator's model."""
    src = _load(Path(path), str(path))
    display = Path(path).name
    renderer = _Renderer(src.module.__name__)
    found = list(_find_services(src))
    # A generated client has a method per declared method: in the signatures
    # after it, that name means the method, not a module or builtin of the name.
    renderer.reserved = frozenset(
        name for cls, _, _ in found for name, _, _ in _members(cls)
    )
    errors = _errors(src, renderer)
    # A service declared in several major versions (side by side) gets the
    # major in its generated names: UserV1Client, UserV2Client.
    majors: dict[str, dict[int, int]] = {}  # name -> major -> line
    for _, options, line in found:
        major = wire.major(options.version)
        earlier = majors.setdefault(options.name, {}).get(major)
        if earlier is not None:
            raise src.error(
                f"service {options.name!r} is declared twice with major version "
                f"{major} (line {earlier}): one Protocol per major version",
                line,
            )
        majors[options.name][major] = line
    services = []
    seen: dict[str, str] = {}  # generated names -> the service generating them
    for cls, options, line in found:
        service = _service(
            src, renderer, cls, options, line, timeout, concurrency, errors
        )
        if len(majors[service.name]) > 1:
            major = wire.major(service.version)
            service = dataclasses.replace(service, pascal=f"{service.pascal}V{major}")
        if not service.pascal.isidentifier() or not service.pascal[0].isalpha():
            raise src.error(
                f"service name {service.name!r} cannot name the generated classes "
                f"({service.pascal}Client): start it with a letter",
                line,
            )
        for generated in (
            f"{service.pascal}Client",
            f"{service.pascal}SyncClient",
            service.spec_name,
        ):
            other = seen.get(generated)
            if other is not None:
                raise src.error(
                    f"services {other!r} and {service.name!r} both generate "
                    f"{generated}; rename one of them",
                    line,
                )
            seen[generated] = service.name
        services.append(service)
    if not services:
        raise src.error(
            'no service found: decorate a typing.Protocol with @autonats.service("name") '
            "or put '# @nats:server Name' on the line above it",
            1,
        )
    return model.Module(
        source=display,
        imports=renderer.import_groups(),
        services=tuple(services),
        errors=errors,
        tracing=tracing,
    )


# -- loading -----------------------------------------------------------------


def _module_name(path: Path) -> tuple[str, Path]:
    """The dotted name of the file and the folder that must be on sys.path to import it."""
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").exists():
        parts.insert(0, root.name)
        root = root.parent
    return ".".join(parts), root


def _load(path: Path, display: str) -> _Source:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclarationError(
            f"cannot read the file: {exc.strerror or exc}", file=display, line=1
        ) from None
    try:
        tree = ast.parse(text, filename=display)
    except SyntaxError as exc:
        raise DeclarationError(
            f"syntax error: {exc.msg}", file=display, line=exc.lineno or 1
        ) from None
    name, root = _module_name(path.resolve())
    root_text = str(root)
    if root_text not in sys.path:
        sys.path.insert(0, root_text)
    existing = sys.modules.get(name)
    try:
        if existing is not None and _same_file(existing, path):
            module = existing
        else:
            module = _import_file(name, path)
    except DeclarationError as exc:
        line = _failing_line(exc, path)
        raise DeclarationError(exc.message, file=display, line=line) from None
    except Exception as exc:
        raise DeclarationError(
            f"importing the module failed: {type(exc).__name__}: {exc}",
            file=display,
            line=_failing_line(exc, path),
        ) from None
    return _Source(path, display, module, tree, text.splitlines())


def _same_file(module: types.ModuleType, path: Path) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file or "").resolve() == path.resolve()


def _import_file(name: str, path: Path) -> types.ModuleType:
    """Import ``path`` as module ``name``, even when another file of that name was
    imported before (two interfaces called api.py in different folders)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    if "." in name:
        importlib.import_module(name.rpartition(".")[0])  # the parent packages
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _failing_line(exc: BaseException, path: Path) -> int:
    line = 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve() and frame.lineno:
            line = frame.lineno
    return line


# -- services ----------------------------------------------------------------


def _find_services(src: _Source) -> list[tuple[type, ServiceOptions, int]]:
    found = []
    for node in src.tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = src.module.__dict__.get(node.name)
        options = service_options(cls) if isinstance(cls, type) else None
        first_line = min([node.lineno] + [d.lineno for d in node.decorator_list])
        comment = (
            _COMMENT_RE.match(src.lines[first_line - 2]) if first_line >= 2 else None
        )
        if comment is not None:
            name = comment.group("name")
            if not NAME_RE.match(name):
                raise src.error(
                    f"service name {name!r} is invalid: use letters, digits, '-' and '_' only",
                    first_line - 1,
                )
            if options is not None and options.name != name:
                raise src.error(
                    f"class {node.name} is named {options.name!r} by @autonats.service and "
                    f"{name!r} by its comment: keep one",
                    node.lineno,
                )
            options = options or ServiceOptions(name)
        if options is None:
            continue
        if not isinstance(cls, type) or not getattr(cls, "_is_protocol", False):
            raise src.error(
                f"class {node.name} is marked as a service but is not a typing.Protocol: "
                f"declare it as 'class {node.name}(Protocol):'",
                node.lineno,
            )
        found.append((cls, options, node.lineno))
    return found


def _class_lines(src: _Source, cls: type) -> dict[str, int]:
    for node in src.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            lines = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines[item.name] = item.lineno
                elif isinstance(item, ast.AnnAssign) and isinstance(
                    item.target, ast.Name
                ):
                    lines[item.target.id] = item.lineno
                elif isinstance(item, ast.Assign):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            lines[target.id] = item.lineno
            return lines
    return {}


def _members(cls: type) -> list[tuple[str, Any, bool]]:
    """(name, value, is_bare_annotation) of the Protocol's own and inherited members, in order."""
    members: dict[str, tuple[Any, bool]] = {}
    for klass in reversed(cls.__mro__):
        if klass.__name__ in _PROTOCOL_BASES and klass.__module__ in (
            "typing",
            "builtins",
        ):
            continue
        for name in inspect.get_annotations(klass):
            if name not in klass.__dict__:
                members[name] = (None, True)
        for name, value in klass.__dict__.items():
            if name.startswith("__") and name.endswith("__"):
                continue
            if name in ("_is_protocol", "_is_runtime_protocol", "__autonats_service__"):
                continue
            if name.startswith("_abc_") or name == "_is_protocol":
                continue
            members[name] = (value, False)
    return [(name, value, bare) for name, (value, bare) in members.items()]


def _service(
    src: _Source,
    renderer: _Renderer,
    cls: type,
    options: ServiceOptions,
    line: int,
    timeout: float,
    concurrency: int,
    module_errors: tuple[model.ErrorRef, ...],
) -> model.Service:
    lines = _class_lines(src, cls)
    methods = []
    for name, value, bare in _members(cls):
        where = lines.get(name, line)
        if bare:
            raise src.error(
                f"{cls.__name__}.{name} is an attribute; a service declares only async methods",
                where,
            )
        if name.startswith("_"):
            raise src.error(
                f"method {name!r}: names starting with '_' cannot be called remotely; "
                "rename it or move it out of the Protocol",
                where,
            )
        if isinstance(value, staticmethod | classmethod | property):
            raise src.error(
                f"{cls.__name__}.{name} is a {type(value).__name__}; a service declares only "
                "async instance methods",
                where,
            )
        if not inspect.isfunction(value):
            raise src.error(
                f"{cls.__name__}.{name} is not a method; a service declares only async methods",
                where,
            )
        methods.append(
            _method(
                src, renderer, cls, name, value, where, options, timeout, concurrency
            )
        )
    if not methods:
        raise src.error(f"service {options.name!r} declares no methods", line)
    errors = module_errors
    if options.errors is not None:
        declared = {}
        for cls_ in options.errors:
            _check_error(src, cls_, line)
            declared[cls_.__name__] = model.ErrorRef(
                cls_.__name__, renderer.ref(cls_), cls_
            )
        errors = tuple(sorted(declared.values(), key=lambda e: e.name))
    return model.Service(
        name=options.name,
        protocol=renderer.ref(cls),
        pascal=pascal_case(options.name),
        version=options.version,
        metadata=options.metadata,
        methods=tuple(methods),
        errors=errors,
        cls=cls,
    )


def _method(
    src: _Source,
    renderer: _Renderer,
    cls: type,
    name: str,
    func: Any,
    line: int,
    service: ServiceOptions,
    timeout: float,
    concurrency: int,
) -> model.Method:
    coroutine = inspect.iscoroutinefunction(func)
    sig = inspect.signature(func)
    parameters = list(sig.parameters.values())
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise src.error(
            f"method {name!r} must take 'self' as its first parameter", line
        )
    for p in parameters[1:]:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            raise src.error(
                f"method {name!r}: '*{p.name}' cannot be sent over the wire; "
                f"use a parameter such as '{p.name}: list[...]'",
                line,
            )
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            raise src.error(
                f"method {name!r}: '**{p.name}' cannot be sent over the wire; "
                f"use a parameter such as '{p.name}: dict[str, ...]'",
                line,
            )
    try:
        params, returns = spec.resolve_method(cls, name)
    except DeclarationError as exc:
        raise src.error(exc.message, line) from None
    stream = _stream_kind(src, name, func, coroutine, returns, line)
    opts: MethodOptions = method_options(func)
    out = []
    for param in params:
        problem = spec.type_problem(param.type)
        if problem is not None:
            raise src.error(
                f"parameter {param.name!r} of {name!r}: {problem}{_HINT}", line
            )
        out.append(
            model.Param(
                name=param.name,
                annotation=_render(src, renderer, param.type, line),
                default=_default(src, renderer, name, param, line),
                kind=_KINDS[param.kind],
            )
        )
    if stream:
        if opts.oneway:
            raise src.error(
                f"stream {name!r} cannot be oneway: its caller reads its items", line
            )
        try:
            returns = spec.stream_item(returns)
        except DeclarationError as exc:
            raise src.error(f"stream {name!r}: {exc.message}", line) from None
    problem = spec.type_problem(returns)
    if problem is not None:
        what = "item type" if stream else "return type"
        raise src.error(f"{what} of {name!r}: {problem}{_HINT}", line)
    if opts.oneway and returns is not None:
        raise src.error(
            f"oneway method {name!r} must return None: nobody waits for its result",
            line,
        )
    if opts.durable and not opts.oneway:
        raise src.error(
            f"method {name!r}: durable applies to oneway methods only", line
        )
    if opts.breaker is not None and opts.oneway and not opts.durable:
        raise src.error(
            f"method {name!r}: a oneway method's caller never learns how it went, "
            "so a circuit breaker has nothing to count; drop breaker= (durable "
            "oneway methods and request/reply methods may have one)",
            line,
        )
    return model.Method(
        name=name,
        params=tuple(out),
        returns=_render(src, renderer, returns, line),
        timeout=float(opts.timeout if opts.timeout is not None else timeout),
        concurrency=opts.concurrency if opts.concurrency is not None else concurrency,
        oneway=opts.oneway,
        durable=opts.durable,
        breaker=opts.breaker,
        stream=stream,
    )


def _stream_kind(
    src: _Source, name: str, func: Any, coroutine: bool, returns: Any, line: int
) -> bool:
    """Whether method ``name`` is a stream, or why its declaration is wrong.

    A stream is ``def name(...) -> AsyncIterator[T]`` (or ``AsyncGenerator[T,
    None]``): what an implementation's async generator is, as mypy sees it.
    Every other method is ``async def``.
    """
    if not spec.is_stream_type(returns):
        if not coroutine:
            raise src.error(
                f"method {name!r} is not async: declare it as 'async def {name}(...)' "
                f"(or, for a stream of items, 'def {name}(...) -> AsyncIterator[T]')",
                line,
            )
        return False
    if coroutine:
        raise src.error(
            f"stream {name!r} is declared 'async def': that is a coroutine returning "
            "an iterator, which an async generator does not implement; declare it "
            f"'def {name}(...) -> AsyncIterator[T]: ...' (without async)",
            line,
        )
    return True


_HINT = (
    "; supported: str, int, float, bool, bytes, None, unions, list/tuple/set/frozenset/dict, "
    "Literal, Enum, datetime types, UUID, Decimal, dataclasses, TypedDict, NamedTuple, "
    "msgspec.Struct and pydantic models"
)

_KINDS: dict[Any, str] = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
}


def _render(src: _Source, renderer: _Renderer, tp: Any, line: int) -> str:
    try:
        return renderer.annotation(tp)
    except _Unrenderable as exc:
        raise src.error(str(exc), line) from None


def _default(
    src: _Source, renderer: _Renderer, method: str, p: codec.Param, line: int
) -> str | None:
    if p.default is inspect.Parameter.empty:
        return None
    try:
        return renderer.value(p.default)
    except _Unrenderable:
        raise src.error(
            f"parameter {p.name!r} of {method!r}: the default {p.default!r} cannot be written "
            "in generated code; use a literal (number, string, None, tuple, ...) or an Enum member",
            line,
        ) from None


def _errors(src: _Source, renderer: _Renderer) -> tuple[model.ErrorRef, ...]:
    found: dict[str, model.ErrorRef] = {}
    for attr, obj in vars(src.module).items():
        if (
            not (isinstance(obj, type) and issubclass(obj, ServiceError))
            or obj is ServiceError
        ):
            continue
        line = _class_line(src, attr)
        _check_error(src, obj, line)
        if obj.__name__ in found:
            raise src.error(
                f"two declared errors are named {obj.__name__}; errors travel by name, "
                "so give them distinct names",
                line,
            )
        found[obj.__name__] = model.ErrorRef(obj.__name__, renderer.ref(obj), obj)
    return tuple(sorted(found.values(), key=lambda e: e.name))


def _check_error(src: _Source, obj: type[ServiceError], line: int) -> None:
    code = obj.code
    if not isinstance(code, int) or isinstance(code, bool) or not 400 <= code <= 599:
        raise src.error(
            f"error {obj.__name__}: code must be an integer from 400 to 599, not {code!r}",
            line,
        )
    try:
        fields = spec.error_fields(obj)
    except Exception as exc:
        raise src.error(
            f"error {obj.__name__}: cannot resolve its fields: {exc}", line
        ) from None
    for fname, ftype in fields.items():
        problem = spec.type_problem(ftype)
        if problem is not None:
            raise src.error(f"field {fname!r} of error {obj.__name__}: {problem}", line)


def _class_line(src: _Source, name: str) -> int:
    for node in src.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node.lineno
    return 1


# -- rendering types and values to source ------------------------------------


class _Unrenderable(Exception):
    pass


_BUILTIN_NAMES = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    bytes: "bytes",
    bytearray: "bytearray",
    list: "list",
    tuple: "tuple",
    set: "set",
    frozenset: "frozenset",
    dict: "dict",
    object: "object",
}


@dataclass
class _Renderer:
    """Renders types and values as source text, collecting the imports they need."""

    interface: str
    modules: set[str] = field(default_factory=set)
    #: Names a generated class binds; a module or builtin of the same name is
    #: imported (or written) under another name. See :func:`parse`.
    reserved: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)  # module -> imported as

    def module_ref(self, name: str) -> str:
        self.modules.add(name)
        short = name
        if name == self.interface and "." in name:
            short = name.rpartition(".")[2]
        if short.partition(".")[0] in self.reserved:
            return self.aliases.setdefault(name, short.replace(".", "_") + "_")
        return short

    def builtin(self, name: str) -> str:
        if name in self.reserved:
            return f"{self.module_ref('builtins')}.{name}"
        return name

    def ref(self, obj: Any) -> str:
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        module = getattr(obj, "__module__", None)
        if not qualname or not module or "<locals>" in qualname or module == "__main__":
            raise _Unrenderable(
                f"type {obj!r} cannot be imported by the generated module"
            )
        if module == "builtins":
            return self.builtin(str(qualname))
        return f"{self.module_ref(module)}.{qualname}"

    def annotation(self, tp: Any) -> str:
        if tp is None or tp is type(None):
            return "None"
        if tp is typing.Any:
            return f"{self.module_ref('typing')}.Any"
        if tp in _BUILTIN_NAMES:
            return self.builtin(_BUILTIN_NAMES[tp])
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self.annotation(args[0])
        if origin is typing.Union or origin is types.UnionType:
            return " | ".join(self.annotation(a) for a in args)
        if origin is typing.Literal:
            return f"{self.module_ref('typing')}.Literal[{', '.join(self.value(a) for a in args)}]"
        if origin is not None:
            head = self.annotation(origin)
            if not args:
                return head
            rendered = ", ".join(
                "..." if a is Ellipsis else self.annotation(a) for a in args
            )
            return f"{head}[{rendered}]"
        if isinstance(tp, typing.TypeVar):
            raise _Unrenderable(
                f"type variable {tp} is not supported: use concrete types"
            )
        if isinstance(tp, typing.ForwardRef | str):
            raise _Unrenderable(f"unresolved forward reference {tp!r}")
        if isinstance(tp, type | typing.NewType):
            return self.ref(tp)
        raise _Unrenderable(f"type {tp!r} cannot be written in generated code")

    def value(self, v: Any) -> str:
        """``v`` as a literal the way ruff format writes it, or raise _Unrenderable."""
        if isinstance(v, enum.Enum):
            return f"{self.ref(type(v))}.{v.name}"
        if v is None or isinstance(v, bool):
            return repr(v)
        if isinstance(v, int | float):
            text = repr(v)
            if text in ("inf", "-inf", "nan"):
                raise _Unrenderable(text)
            return text
        if isinstance(v, str | bytes):
            return _quoted(v)
        if isinstance(v, tuple):
            items = [self.value(x) for x in v]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(v, frozenset):
            if not v:
                return "frozenset()"
            items = sorted(self.value(x) for x in v)  # sorted: the output must not vary
            return f"frozenset({{{', '.join(items)}}})"
        raise _Unrenderable(repr(v))

    def import_groups(self) -> tuple[tuple[str, ...], ...]:
        stdlib, local = [], []
        third = ["import autonats.contract", "import autonats.runtime"]
        for name in sorted(self.modules):
            top = name.partition(".")[0]
            alias = f" as {self.aliases[name]}" if name in self.aliases else ""
            if top in sys.stdlib_module_names:
                stdlib.append(f"import {name}{alias}")
            elif _installed(name):
                third.append(f"import {name}{alias}")
            elif name == self.interface and "." in name:
                parent, _, child = name.rpartition(".")
                local.append(f"from {parent} import {child}{alias}")
            else:
                local.append(f"import {name}{alias}")
        groups = [stdlib, sorted(third, key=_isort_key), sorted(local, key=_isort_key)]
        return tuple(tuple(g) for g in groups if g)


def _isort_key(line: str) -> tuple[str, str]:
    # isort's default (force_sort_within_sections = false): "import x" before "from x import y".
    kind, _, rest = line.partition(" ")
    return ("0" if kind == "import" else "1", rest.lower())


def _installed(name: str) -> bool:
    """True for a module from an installed distribution (third-party for import sorting)."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None) or ""
    return "site-packages" in file or "dist-packages" in file


def _quoted(v: str | bytes) -> str:
    """A str or bytes literal with ruff format's quotes: double unless that needs
    more escapes than single."""
    text = repr(v)
    prefix = "b" if isinstance(v, bytes) else ""
    body = text[len(prefix) + 1 : -1]
    if text[len(prefix)] == '"':  # repr chose double quotes: v has ' and no "
        return text
    if "\\'" in body:  # v has both kinds of quote: keep repr's choice
        return text
    if '"' in body:
        return text  # single quotes avoid escaping the double ones
    return f'{prefix}"{body}"'
