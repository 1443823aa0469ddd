"""The generator's intermediate model: what to write, already rendered to source fragments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autonats.contract.declare import Breaker, MethodOptions
from autonats.contract.spec import ServiceSpec, build

__all__ = ["ErrorRef", "Method", "Module", "Param", "Service"]


@dataclass(frozen=True)
class Param:
    """A parameter as it appears in the generated signature."""

    name: str
    annotation: str
    default: str | None = None  # source text, or None when required
    kind: str = "positional"  # "positional_only", "positional" or "keyword_only"


@dataclass(frozen=True)
class Method:
    """One RPC method."""

    name: str
    params: tuple[Param, ...]
    returns: str  # annotation source text; "None" for no result; a stream's item
    timeout: float
    concurrency: int
    oneway: bool = False
    durable: bool = False
    breaker: Breaker | None = None
    stream: bool = False

    def options(self) -> MethodOptions:
        """The options the generated module passes to ``autonats.contract.build``."""
        return MethodOptions(
            timeout=self.timeout,
            concurrency=self.concurrency,
            oneway=self.oneway,
            durable=self.durable,
            breaker=self.breaker,
            stream=self.stream,
        )


@dataclass(frozen=True)
class ErrorRef:
    """A declared ServiceError subclass."""

    name: str
    ref: str  # e.g. "users.UserNotFound"
    cls: Any = field(default=None, compare=False, repr=False)  # the class itself


@dataclass(frozen=True)
class Service:
    """One service: a Protocol class and the names generated for it."""

    name: str  # wire name, e.g. "user"
    protocol: str  # reference to the Protocol, e.g. "users.UserService"
    pascal: str  # e.g. "User": prefix of UserClient / UserHandler
    version: str
    metadata: tuple[tuple[str, str], ...]
    methods: tuple[Method, ...]
    errors: tuple[ErrorRef, ...] = ()  # what the service may raise
    cls: Any = field(default=None, compare=False, repr=False)  # the Protocol itself

    @property
    def spec_name(self) -> str:
        """The module-level spec variable, e.g. ``USER_SERVICE``."""
        words = []
        for i, ch in enumerate(self.pascal):
            if ch.isupper() and i and not self.pascal[i - 1].isupper():
                words.append("_")
            words.append(ch.upper())
        return "".join(words) + "_SERVICE"

    def spec(self) -> ServiceSpec:
        """The :class:`~autonats.contract.ServiceSpec` the generated module builds."""
        return build(
            self.cls,
            name=self.name,
            version=self.version,
            metadata=dict(self.metadata),
            methods={m.name: m.options() for m in self.methods},
            errors=[e.cls for e in self.errors],
        )


@dataclass(frozen=True)
class Module:
    """Everything one generated file holds."""

    source: str  # the interface file as named on the command line
    imports: tuple[tuple[str, ...], ...]  # groups of import statements, in output order
    services: tuple[Service, ...]
    errors: tuple[ErrorRef, ...]  # every error the module declares
    tracing: bool = False
