"""Decorators that mark a ``typing.Protocol`` as a service and tune its methods.

They only attach options to the class or function; the generator reads them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload

from autonats.errors import DeclarationError, ServiceError

__all__ = [
    "Breaker",
    "MethodOptions",
    "ServiceOptions",
    "method",
    "oneway",
    "service",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_SERVICE_ATTR = "__autonats_service__"
_METHOD_ATTR = "__autonats_method__"

# ADR-32: service names are restricted to A-Z, a-z, 0-9, dash and underscore.
NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# semver.org's recommended regular expression.
SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@dataclass(frozen=True)
class ServiceOptions:
    """What ``@autonats.service`` recorded on a Protocol."""

    name: str
    version: str = "0.0.0"
    metadata: tuple[tuple[str, str], ...] = ()
    #: The errors the service declares it raises; None: every error of its module.
    errors: tuple[type, ...] | None = None


@dataclass(frozen=True)
class Breaker:
    """A client-side circuit breaker for one method: how sick the method must
    look before callers stop sending to it, and how they find out it is well.

    **Closed** (calls go through): the breaker counts the calls that finished
    in the last ``window`` seconds. When at least ``min_calls`` finished and
    at least ``failure_rate`` of them failed as an unhealthy service fails
    (timeouts, no responders, overload after the retries, 5xx internal
    errors; never a declared error nor a 400), it **opens**: calls fail at
    once with :class:`~autonats.CircuitOpenError`, sending nothing. After
    ``open_for`` seconds it is **half-open**: the next ``probes`` calls go
    through (others still fail fast); if they all succeed it closes, if one
    fails it opens again for ``open_for``.

    ``Breaker()`` is the conservative default: 50% of at least 20 calls in
    10 s, open 5 s, 3 probes. Use it as ``@autonats.method(breaker=True)``
    or ``@autonats.method(breaker=autonats.Breaker(failure_rate=0.3))``, or
    per client: ``UserClient(nc, breaker=...)``.
    """

    failure_rate: float = 0.5
    min_calls: int = 20
    window: float = 10.0
    open_for: float = 5.0
    probes: int = 3

    def __post_init__(self) -> None:
        if not (_number(self.failure_rate) and 0 < self.failure_rate <= 1):
            raise ValueError(
                f"failure_rate must be a share in (0, 1], not {self.failure_rate!r}"
            )
        for name in ("min_calls", "probes"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool)) or (
                value < 1
            ):
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
        for name in ("window", "open_for"):
            value = getattr(self, name)
            if not (_number(value) and 0 < value < math.inf):
                raise ValueError(
                    f"{name} must be a positive number of seconds, not {value!r}"
                )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class MethodOptions:
    """What ``@autonats.method`` / ``@autonats.oneway`` recorded on a method.

    ``None`` means "use the generator's default" (for ``breaker``: no breaker).
    ``stream`` is not set by a decorator: the generator sets it for a method
    declared ``def name(...) -> AsyncIterator[T]`` (a server stream of ``T`` items).
    """

    timeout: float | None = None
    concurrency: int | None = None
    oneway: bool = False
    durable: bool = False
    breaker: Breaker | None = None
    stream: bool = False


def service(
    name: str,
    *,
    version: str = "0.0.0",
    metadata: dict[str, str] | None = None,
    errors: Iterable[type[ServiceError]] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Mark a Protocol as service ``name`` (subjects ``<prefix>.<name>.<method>``).

    ``version`` is a semantic version, published through ``$SRV.INFO``.
    ``errors`` lists the :class:`~autonats.ServiceError` subclasses its methods
    raise; without it, the service may raise every error its module declares.
    Clients raise these as themselves; ``$SRV.INFO`` advertises them.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DeclarationError(
            f"service name {name!r} is invalid: use letters, digits, '-' and '_' only"
        )
    if not isinstance(version, str) or not SEMVER_RE.match(version):
        raise DeclarationError(
            f"service version {version!r} is not a semantic version such as '1.2.0'"
        )
    declared: tuple[type, ...] | None = None
    if errors is not None:
        declared = tuple(errors)
        for cls in declared:
            if not (isinstance(cls, type) and issubclass(cls, ServiceError)):
                raise DeclarationError(
                    f"errors of service {name!r}: {cls!r} is not a subclass of "
                    "autonats.ServiceError"
                )
    options = ServiceOptions(
        name, version, tuple(sorted((metadata or {}).items())), declared
    )

    def mark(cls: type[T]) -> type[T]:
        setattr(cls, _SERVICE_ATTR, options)
        return cls

    return mark


def method(
    *,
    timeout: float | None = None,
    concurrency: int | None = None,
    breaker: bool | Breaker | None = None,
) -> Callable[[F], F]:
    """Override the generator's default timeout (seconds) or concurrency for one
    method, or give its callers a circuit breaker (``True``: :class:`Breaker`'s
    defaults; ``False``: none, the default)."""
    if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
        raise DeclarationError(
            f"timeout must be a positive number of seconds, not {timeout!r}"
        )
    if concurrency is not None and not (
        isinstance(concurrency, int)
        and not isinstance(concurrency, bool)
        and concurrency >= 1
    ):
        raise DeclarationError(
            f"concurrency must be an integer >= 1, not {concurrency!r}"
        )
    if breaker is not None and not isinstance(breaker, bool | Breaker):
        raise DeclarationError(
            f"breaker must be True, False or an autonats.Breaker(...), not {breaker!r}"
        )

    def mark(func: F) -> F:
        current = method_options(func)  # stacked decorators: keep what is not given
        setattr(
            func,
            _METHOD_ATTR,
            replace(
                current,
                timeout=current.timeout if timeout is None else timeout,
                concurrency=current.concurrency if concurrency is None else concurrency,
                breaker=current.breaker if breaker is None else breaker_of(breaker),
            ),
        )
        return func

    return mark


@overload
def oneway(func: F, /) -> F: ...
@overload
def oneway(*, durable: bool = False) -> Callable[[F], F]: ...
def oneway(func: Any = None, /, *, durable: bool = False) -> Any:
    """Mark a method fire-and-forget: the client publishes and returns at once.

    The method must return ``None``. Use as ``@autonats.oneway`` or
    ``@autonats.oneway(durable=True)``.
    """

    def mark(f: F) -> F:
        current = method_options(f)
        setattr(f, _METHOD_ATTR, replace(current, oneway=True, durable=durable))
        return f

    return mark if func is None else mark(func)


def breaker_of(setting: bool | Breaker | None) -> Breaker | None:
    """The breaker a ``breaker=`` setting stands for: ``True`` the defaults,
    ``False`` or ``None`` none."""
    if setting is True:
        return Breaker()
    if setting is False or setting is None:
        return None
    return setting


def service_options(cls: type) -> ServiceOptions | None:
    """The options ``@service`` put on ``cls`` itself (not inherited), or None."""
    value = cls.__dict__.get(_SERVICE_ATTR)
    return value if isinstance(value, ServiceOptions) else None


def method_options(func: object) -> MethodOptions:
    """The options recorded on a method, or the defaults."""
    value = getattr(func, _METHOD_ATTR, None)
    return value if isinstance(value, MethodOptions) else MethodOptions()
