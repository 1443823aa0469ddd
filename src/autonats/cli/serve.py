"""``autonats serve``: run an implementation with its generated handler."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import logging
import os
import signal
import sys
import typing
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import nats.errors
from autonats.cli._common import CommandError, byte_size, duration, positive_int
from autonats.cli._connection import add_connection_flags, settings
from autonats.errors import AutonatsError

if TYPE_CHECKING:
    from autonats.runtime.connect import Settings

__all__ = ["add_parser", "run"]

log = logging.getLogger("autonats.serve")


def add_parser(commands: Any) -> None:
    """Register the command."""
    serve: argparse.ArgumentParser = commands.add_parser(
        "serve",
        help="serve an implementation with its generated handler",
        description="Import TARGET (module:attr or path/to/file.py:attr; an instance, "
        "a class or a zero-argument factory, async or not), find the generated "
        "handler of the service it implements and serve it until SIGINT or "
        "SIGTERM, which drain in-flight calls first. A module is looked up from "
        "the current folder; a file from its own folder.",
    )
    serve.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="module:attr or path/to/file.py:attr; several are served by one "
        "process on one connection (e.g. two major versions of a service)",
    )
    add_connection_flags(serve, default_server="an embedded nats-server")
    serve.add_argument(
        "--reconnect-wait",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="pause between reconnect attempts after losing the server (default: 0.5)",
    )
    serve.add_argument(
        "--no-uvloop",
        action="store_true",
        help="use asyncio's own event loop even when uvloop is installed",
    )
    serve.add_argument(
        "--handler",
        metavar="module:Class",
        help="the generated handler class, when it cannot be found automatically",
    )
    serve.add_argument(
        "--concurrency",
        type=positive_int,
        metavar="N",
        help="calls of each method one process runs at once "
        "(default: each method's declared concurrency, 5 unless declared)",
    )
    serve.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="instance metadata published in $SRV.INFO (repeatable)",
    )
    serve.add_argument(
        "--prefix", default="autonats", help="subject prefix (default: autonats)"
    )
    durable = serve.add_argument_group(
        "durable methods (JetStream)",
        "The service's two streams: durable calls and dead letters "
        "(docs/operations.md).",
    )
    durable.add_argument(
        "--replicas",
        type=int,
        choices=range(1, 6),
        metavar="N",
        help="replicas of the streams, 1 to 5 (default: 3 when the JetStream "
        "connected to has 3 or more servers, else 1); raised on existing "
        "streams, never lowered",
    )
    durable.add_argument(
        "--dead-letter-max-age",
        type=duration,
        metavar="DURATION",
        help="drop dead letters older than this, e.g. 12h, 7d "
        "(default: 7d for a new stream)",
    )
    durable.add_argument(
        "--dead-letter-max-bytes",
        type=byte_size,
        metavar="SIZE",
        help="drop the oldest dead letters past this size, e.g. 64MiB, 1GB "
        "(default: 256MiB for a new stream)",
    )
    outlier = serve.add_argument_group(
        "outlier ejection",
        "An instance whose internal failures (500, 504) of a method run far above "
        "its peers' steps out of that method's queue group for a while "
        "(docs/operations.md).",
    )
    outlier.add_argument(
        "--no-outlier-ejection",
        action="store_true",
        help="never step out of a queue group, however this instance fails",
    )
    outlier.add_argument(
        "--outlier",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tune it (repeatable): window=10 interval=1 min_requests=10 "
        "failure_rate=0.5 margin=0.3 max_ejected=0.2 cooldown=10 "
        "max_cooldown=300 (the defaults; seconds and shares)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://ADDR:PORT/metrics "
        "(needs autonats[metrics])",
    )
    serve.add_argument(
        "--metrics-addr",
        default="0.0.0.0",
        metavar="ADDR",
        help="address for --metrics-port (default: 0.0.0.0, so Prometheus can scrape a pod)",
    )
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.metadata = _metadata(args.metadata)  # fail on a bad pair before starting
    args.outlier = _outlier(args.outlier, off=args.no_outlier_ejection)
    if args.handler and len(args.targets) > 1:
        raise CommandError("--handler names the handler of one TARGET only")
    targets = [_load_target(target) for target in args.targets]
    if args.metrics_port is not None:
        _serve_metrics(args.metrics_port, args.metrics_addr)
    _run(_serve_until_signal(targets, args), uvloop=not args.no_uvloop)
    return 0


async def _serve_until_signal(targets: list[object], args: argparse.Namespace) -> None:
    # An async factory runs on the loop that serves: what it makes may be bound
    # to that loop (a connection pool, an HTTP session).
    served = []
    for target in targets:
        impl = await target if inspect.isawaitable(target) else target
        served.append((_find_handler(impl, args.handler), impl))
    resolved = settings(args)
    with contextlib.ExitStack() as stack:
        if not resolved.explicit_servers:
            url = _embedded_server(stack, [cls for cls, _ in served])
            resolved = dataclasses.replace(resolved, servers=(url,))
        await _serve(resolved, served, args)


def _embedded_server(stack: contextlib.ExitStack, handler_classes: list[Any]) -> str:
    from autonats.testing import NatsServer

    durable = any(
        m.durable for cls in handler_classes for m in cls.spec.methods.values()
    )
    try:
        server = stack.enter_context(NatsServer(jetstream=durable))
    except (FileNotFoundError, RuntimeError) as exc:
        raise CommandError(str(exc)) from None
    print(f"started embedded nats-server at {server.url}", flush=True)
    return server.url


async def _serve(
    resolved: Settings, served: list[tuple[Any, object]], args: argparse.Namespace
) -> None:

    draining = False

    async def disconnected() -> None:
        if not draining:  # closing the connection at the end is no outage
            log.warning("nats: disconnected; reconnecting")

    # Unreachable at start or later: retried forever, as an outage. Refused
    # (credentials, TLS, a missing file): one line and exit 1 (ConnectionError).
    try:
        nc = await resolved.connect(
            reconnect_time_wait=args.reconnect_wait,
            connect_timeout=5,
            max_reconnect_attempts=-1,
            error_cb=_log_error,
            disconnected_cb=disconnected,
            reconnected_cb=_reconnected,
        )
    except AutonatsError as exc:
        raise CommandError(str(exc)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    handlers: list[Any] = []
    for handler_cls, impl in served:
        handler = handler_cls(
            nc,
            impl,
            concurrency=args.concurrency,
            prefix=args.prefix,
            metadata=args.metadata,
            replicas=args.replicas,
            dead_letter_max_age=args.dead_letter_max_age,
            dead_letter_max_bytes=args.dead_letter_max_bytes,
            outlier=args.outlier,
        )
        try:
            await handler.run()
        except (AutonatsError, OSError, asyncio.TimeoutError) as exc:
            for started in handlers:
                await started.shutdown()
            await nc.close()
            text = str(exc)  # run() says which service and which step
            if not text.startswith("cannot serve"):
                text = f"cannot serve {handler.spec.name}: {text}"
            raise CommandError(text) from None
        handlers.append(handler)
        spec = handler.spec
        print(
            f"serving {spec.name} {spec.version} ({', '.join(spec.methods)}) on "
            f"{resolved.display} with {type(impl).__name__}",
            flush=True,
        )
    print("Ctrl-C to stop", flush=True)
    await stop.wait()
    draining = True
    print("draining...", flush=True)
    for handler in handlers:
        await handler.shutdown()
    try:
        await nc.drain()
    except nats.errors.ConnectionReconnectingError:
        await nc.close()  # no server to drain to; the handlers finished their calls
    print("stopped", flush=True)


def _metadata(pairs: list[str]) -> dict[str, str]:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--metadata {pair!r}: expected KEY=VALUE")
        metadata[key] = value
    return metadata


def _outlier(pairs: list[str], *, off: bool) -> Any:
    """The handler's ``outlier=`` from --outlier KEY=VALUE and --no-outlier-ejection."""
    import dataclasses

    from autonats.runtime.outlier import OutlierEjection

    if off:
        if pairs:
            raise CommandError("--outlier and --no-outlier-ejection contradict")
        return False
    fields = {f.name: f for f in dataclasses.fields(OutlierEjection)}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in fields:
            raise CommandError(
                f"--outlier {pair!r}: expected KEY=VALUE with KEY one of "
                + ", ".join(fields)
            )
        try:
            values[key] = int(text) if key == "min_requests" else float(text)
        except ValueError:
            raise CommandError(
                f"--outlier {pair!r}: {text!r} is not a number"
            ) from None
    try:
        return OutlierEjection(**values)
    except ValueError as exc:
        raise CommandError(f"--outlier: {exc}") from None


def _serve_metrics(port: int, addr: str) -> None:
    try:
        from autonats.observe import metrics

        metrics.serve(port, addr)
    except ImportError:
        raise CommandError(
            "--metrics-port needs prometheus-client: pip install 'autonats[metrics]'"
        ) from None
    except OSError as exc:
        raise CommandError(f"cannot serve metrics on {addr}:{port}: {exc}") from None
    print(f"metrics at http://{addr}:{port}/metrics", flush=True)


def _run(main: Coroutine[Any, Any, None], *, uvloop: bool) -> None:
    """Run ``main`` on uvloop when it is installed (about 1.2x the calls per second
    of asyncio's loop in docs/benchmarks.md), else on asyncio's."""
    if uvloop:
        try:
            import uvloop as fast_loop
        except ImportError:
            pass
        else:
            if sys.version_info >= (3, 11):
                with asyncio.Runner(loop_factory=fast_loop.new_event_loop) as runner:
                    runner.run(main)
                    return
            asyncio.set_event_loop_policy(fast_loop.EventLoopPolicy())
    asyncio.run(main)


async def _log_error(exc: Exception) -> None:
    log.warning("nats: %s", exc or type(exc).__name__)


async def _reconnected() -> None:
    log.warning("nats: reconnected")


def _import_attr(target: str) -> Any:
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise CommandError(
            f"{target!r}: expected module:attr or path/to/file.py:attr, "
            "e.g. app.users:UserServiceImpl"
        )
    if module_name.endswith(".py") or os.sep in module_name:
        # A file: import it by name from its folder, as a script would.
        path = os.path.abspath(module_name)
        if not os.path.isfile(path):
            raise CommandError(f"{module_name}: no such file")
        folder, file = os.path.split(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = os.path.splitext(file)[0]
    elif "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandError(f"cannot import {module_name}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CommandError(f"{module_name} has no attribute {attr!r}") from None
    return obj


def _load_target(target: str) -> object:
    """The implementation, or the awaitable an async factory returned."""
    obj = _import_attr(target)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        obj = obj()
    return obj


def _find_handler(impl: object, explicit: str | None) -> Any:
    from autonats.runtime.handler import Handler

    if explicit:
        cls = _import_attr(explicit)
        if not (inspect.isclass(cls) and issubclass(cls, Handler)):
            raise CommandError(f"{explicit} is not a generated handler class")
        return cls
    _import_generated_modules()
    candidates = [
        cls
        for module in list(sys.modules.values())
        for cls in list(vars(module).values())
        if inspect.isclass(cls) and issubclass(cls, Handler) and "spec" in cls.__dict__
    ]
    nominal = [c for c in candidates if c.spec.protocol in type(impl).__mro__]
    structural = [c for c in candidates if _implements(impl, c.spec)]
    if len(structural) > 1:
        # Two major versions of a service often share method names: the one
        # whose every method the implementation has, and most of them, wins.
        most = max(len(c.spec.methods) for c in structural)
        structural = [c for c in structural if len(c.spec.methods) == most]
    found = list(dict.fromkeys(nominal or structural))
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandError(
            f"no generated handler matches {type(impl).__name__}: serve looks in the "
            "generated modules (*_nats.py) beside the modules imported so far; run "
            "autonats generate on the interface file, import the interface in the "
            "implementation's module, or name the class with --handler module:Class"
        )
    names = ", ".join(f"{c.__module__}:{c.__name__}" for c in found)
    raise CommandError(
        f"{type(impl).__name__} matches several handlers ({names}): use --handler"
    )


def _implements(impl: object, spec: Any) -> bool:
    """Whether ``impl`` has every method of the service (async, or for a stream
    an async generator), with the same return annotation wherever both sides'
    resolve."""
    if not spec.methods:
        return False
    for name, method in spec.methods.items():
        func = getattr(impl, name, None)
        kind = (
            inspect.isasyncgenfunction if method.stream else inspect.iscoroutinefunction
        )
        if not kind(func):
            return False
        if method.stream:
            continue  # an async generator's annotation is the iterator, not the item
        try:
            returns = typing.get_type_hints(func).get("return", method.returns)
        except Exception:  # an annotation that does not resolve: names only
            continue
        if (None if returns is type(None) else returns) != method.returns:
            return False
    return True


def _import_generated_modules() -> None:
    """Import ``<module>_nats`` for every loaded user module that has one."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if (
            not file
            or "site-packages" in file
            or name.endswith("_nats")
            or "." in name[:1]
        ):
            continue
        candidate = f"{name}_nats"
        if candidate in sys.modules:
            continue
        try:
            found = importlib.util.find_spec(candidate)
        except (ImportError, ValueError):
            continue
        if found is not None:
            importlib.import_module(candidate)
