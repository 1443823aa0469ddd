"""Scenarios, timed runs and the session that runs every contender side by side.

Runs are interleaved: repeat 1 of every (scenario, contender), then repeat 2,
and so on, so that a burst of noise on a shared machine spreads over all
contenders instead of sinking one of them. Every loop ends by a count or a
deadline, and every run has a watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import nats

from benchmarks.contenders import CONTENDERS, Contender, by_name
from benchmarks.echo import make_item
from benchmarks.handler import control_subject

__all__ = [
    "Budget",
    "Cell",
    "Config",
    "Results",
    "Run",
    "Scenario",
    "parallel",
    "run_suite",
    "scenarios",
    "sequential",
]

ROOT = Path(__file__).resolve().parent.parent
#: Seconds a run may take past its budget before it is abandoned as failed.
WATCHDOG = 60.0
#: Oneway publishers never get further ahead of the handler than this.
ONEWAY_WINDOW = 5_000
ONEWAY_CHUNK = 500
#: In flight for the 500 KB payload (see Scenario.inflight).
LARGE_INFLIGHT = 20
#: Contenders measured with uvloop as well as asyncio.
UVLOOP_CONTENDERS = ("raw", "autonats")


@dataclass(frozen=True)
class Scenario:
    """One measured situation: how calls are made, how big, where the handler runs."""

    kind: str  # "seq" (1 in flight), "par" (100 in flight) or "oneway"
    size: int  # bytes of the JSON request
    process: bool = False  # handler in a separate process
    loop: str = "asyncio"  # or "uvloop"

    @property
    def key(self) -> str:
        parts = [self.kind, _size_text(self.size).replace(" ", "")]
        if self.process:
            parts.append("proc")
        if self.loop != "asyncio":
            parts.append(self.loop)
        return "-".join(parts)

    def inflight(self, wanted: int) -> int:
        """Calls in flight: 1, or ``wanted`` (at most 20 of the largest payload)."""
        if self.kind != "par":
            return 1
        # 100 x 500 KB would park 50 MB at a slow handler: nats-server cuts a
        # connection off as a slow consumer at 64 MB, whoever the contender.
        return min(wanted, LARGE_INFLIGHT) if self.size >= 100_000 else wanted

    def title(self, inflight: int) -> str:
        what = {
            "seq": "1 in flight",
            "par": f"{self.inflight(inflight)} in flight",
            "oneway": "oneway publish",
        }[self.kind]
        text = f"{what}, {_size_text(self.size)}"
        if self.process:
            text += ", handler in own process"
        if self.loop != "asyncio":
            text += f", {self.loop}"
        return text


def _size_text(size: int) -> str:
    return f"{size // 1000} KB" if size >= 1000 else f"{size} B"


def scenarios(*, processes: bool = True, uvloop: bool = True) -> list[Scenario]:
    """Every scenario of the suite, in table order."""
    out = [Scenario(kind, size) for kind in ("seq", "par") for size in SIZES]
    if processes:
        out += [Scenario("seq", 100, process=True), Scenario("par", 100, process=True)]
    out.append(Scenario("oneway", 100))
    if processes:
        out.append(Scenario("oneway", 100, process=True))
    if uvloop:
        out += [
            Scenario("seq", 100, loop="uvloop"),
            Scenario("par", 100, loop="uvloop"),
        ]
    return out


SIZES = (100, 10_000, 500_000)


@dataclass
class Config:
    """How long each run is: ``seconds`` per run, or an exact number of ``calls``."""

    seconds: float | None = 1.5
    calls: int | None = None
    repeats: int = 3
    warmup_seconds: float = 0.3
    inflight: int = 100
    contenders: tuple[str, ...] = tuple(c.name for c in CONTENDERS)
    processes: bool = True
    uvloop: bool = True
    check_every_reply: bool = False

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.calls is None):
            raise ValueError("give exactly one of seconds and calls")


@dataclass
class Run:
    """One timed run."""

    calls: int
    seconds: float
    p50_us: float | None = None
    p99_us: float | None = None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Cell:
    """Every run of one contender in one scenario, or why there are none."""

    scenario: Scenario
    contender: str
    runs: list[Run] = field(default_factory=list)
    status: str | None = None  # None: measured; else "n/a ...", "failed: ..."

    @property
    def ok(self) -> bool:
        return self.status is None and bool(self.runs)

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.runs)

    @property
    def rate_min(self) -> float:
        return min(r.rate for r in self.runs)

    @property
    def rate_max(self) -> float:
        return max(r.rate for r in self.runs)

    @property
    def p50_us(self) -> float | None:
        values = [r.p50_us for r in self.runs if r.p50_us is not None]
        return statistics.median(values) if values else None

    @property
    def p99_us(self) -> float | None:
        values = [r.p99_us for r in self.runs if r.p99_us is not None]
        return statistics.median(values) if values else None


@dataclass
class Results:
    """Every cell of one suite run, and how it was run."""

    config: Config
    scenarios: list[Scenario]
    contenders: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    seconds: float = 0.0

    def cell(self, scenario: Scenario, contender: str) -> Cell:
        return self.cells[scenario.key, contender]

    def failures(self) -> list[Cell]:
        return [
            c
            for c in self.cells.values()
            if c.status is not None and c.status.startswith("failed")
        ]


# -- timed runs --------------------------------------------------------------


@dataclass
class Budget:
    """A run ends after ``seconds``, or after exactly ``calls`` calls."""

    seconds: float | None
    calls: int | None

    def deadline(self, loop: asyncio.AbstractEventLoop) -> float:
        return loop.time() + self.seconds if self.seconds is not None else float("inf")


class Caller(Protocol):
    """What a timed run calls: a contender, or one of the ablation's echo paths."""

    @property
    def label(self) -> str: ...

    async def call(self, request: Any) -> Any: ...

    def same(self, reply: Any, item: Any) -> bool: ...


async def sequential(
    contender: Caller, request: Any, item: Any, budget: Budget, check_all: bool
) -> Run:
    """Calls back to back; p50 and p99 of their latencies."""
    loop = asyncio.get_running_loop()
    deadline = budget.deadline(loop)
    limit = budget.calls if budget.calls is not None else sys.maxsize
    latencies: list[int] = []
    clock = time.perf_counter_ns
    call = contender.call
    started = clock()
    while len(latencies) < limit and loop.time() < deadline:
        t0 = clock()
        reply = await call(request)
        latencies.append(clock() - t0)
        if (check_all or len(latencies) == 1) and not contender.same(reply, item):
            raise AssertionError(f"{contender.label}: the reply is not the request")
    elapsed = (clock() - started) / 1e9
    latencies.sort()
    return Run(
        calls=len(latencies),
        seconds=elapsed,
        p50_us=_percentile(latencies, 0.50) / 1000,
        p99_us=_percentile(latencies, 0.99) / 1000,
    )


def _percentile(ordered: list[int], q: float) -> float:
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


async def parallel(
    contender: Caller,
    request: Any,
    item: Any,
    budget: Budget,
    inflight: int,
    check_all: bool,
) -> Run:
    """``inflight`` callers, each calling back to back."""
    loop = asyncio.get_running_loop()
    deadline = budget.deadline(loop)
    limit = budget.calls if budget.calls is not None else sys.maxsize
    issued = 0
    done = 0
    call = contender.call

    async def worker() -> None:
        nonlocal issued, done
        while issued < limit and loop.time() < deadline:
            issued += 1
            reply = await call(request)
            done += 1
            if (check_all or done == 1) and not contender.same(reply, item):
                raise AssertionError(f"{contender.label}: the reply is not the request")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return Run(calls=done, seconds=time.perf_counter() - started)


async def oneway_run(
    contender: Contender,
    request: Any,
    received: Callable[[], Awaitable[int]],
    budget: Budget,
) -> Run:
    """Publish until the budget is spent; the run ends when the handler has counted all."""
    loop = asyncio.get_running_loop()
    deadline = budget.deadline(loop)
    limit = budget.calls if budget.calls is not None else sys.maxsize
    base = await received()
    published = 0
    publish = contender.publish
    started = time.perf_counter()
    while published < limit and loop.time() < deadline:
        for _ in range(min(ONEWAY_CHUNK, limit - published)):
            await publish(request)
        published += min(ONEWAY_CHUNK, limit - published)
        # Never run further ahead of the handler than a window: the server would
        # otherwise buffer without bound, and cut the handler off as a slow consumer.
        while published - (await received() - base) > ONEWAY_WINDOW:
            await _pause(loop, deadline + WATCHDOG)
        await asyncio.sleep(0)
    while await received() - base < published:
        await _pause(loop, deadline + WATCHDOG)
    elapsed = time.perf_counter() - started
    counted = await received() - base
    if counted != published:
        raise AssertionError(f"{contender.label}: published {published}, got {counted}")
    return Run(calls=counted, seconds=elapsed)


async def _pause(loop: asyncio.AbstractEventLoop, give_up: float) -> None:
    if loop.time() > give_up:
        raise TimeoutError("the handler stopped counting oneway messages")
    await asyncio.sleep(0.0005)


# -- the session ---------------------------------------------------------------


@dataclass
class _Side:
    """A connected client of one contender, and how to read its handler's oneway count."""

    client: Contender
    received: Callable[[], Awaitable[int]]


class _Session:
    """Every handler and client one event loop needs, set up once."""

    def __init__(self, url: str, config: Config, wanted: list[Scenario]) -> None:
        self.url = url
        self.config = config
        self.wanted = wanted
        self.sides: dict[tuple[str, bool], _Side] = {}
        self.stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> _Session:
        await self.stack.__aenter__()
        names = _measurable(self.config.contenders)
        loop_name = self.wanted[0].loop
        if loop_name == "uvloop":
            names = [n for n in names if n in UVLOOP_CONTENDERS]
        if any(not s.process for s in self.wanted):
            for name in names:
                await self._in_process(name)
        if any(s.process for s in self.wanted):
            children = [self._child(name) for name in names]
            await asyncio.gather(*children)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stack.__aexit__(None, None, None)

    async def _in_process(self, name: str) -> None:
        contender = by_name(name)("inproc")
        address = await contender.serve(self.url)
        self.stack.push_async_callback(contender.stop_serving)
        await contender.connect(self.url, address)
        self.stack.push_async_callback(contender.close)

        async def received() -> int:
            return contender.received

        self.sides[name, False] = _Side(contender, received)

    async def _child(self, name: str) -> None:
        namespace = "proc"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.handler",
            name,
            self.url,
            namespace,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.stack.push_async_callback(_stop_child, proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line.startswith(b"ready "):
            raise RuntimeError(f"the {name} handler process did not start")
        address = line.split()[1].decode()
        contender = by_name(name)(namespace)
        await contender.connect(self.url, address)
        self.stack.push_async_callback(contender.close)
        control = await nats.connect(self.url, max_reconnect_attempts=0)
        self.stack.push_async_callback(control.close)
        subject = control_subject(namespace, name)

        async def received() -> int:
            msg = await control.request(subject, b"", timeout=5)
            return int(msg.data)

        self.sides[name, True] = _Side(contender, received)

    async def measure(self, scenario: Scenario, name: str, budget: Budget) -> Run:
        side = self.sides[name, scenario.process]
        item = make_item(scenario.size)
        request = side.client.request(item)
        check = self.config.check_every_reply
        if scenario.kind == "seq":
            job = sequential(side.client, request, item, budget, check)
        elif scenario.kind == "par":
            inflight = scenario.inflight(self.config.inflight)
            job = parallel(side.client, request, item, budget, inflight, check)
        else:
            job = oneway_run(side.client, request, side.received, budget)
        allowed = (budget.seconds or 0) + WATCHDOG
        return await asyncio.wait_for(job, allowed)


async def _stop_child(proc: asyncio.subprocess.Process) -> None:
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


def _measurable(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if by_name(n).unavailable is None]


def _status(scenario: Scenario, name: str) -> str | None:
    """Why a cell is not measured, or None when it is."""
    cls = by_name(name)
    if cls.unavailable is not None:
        return cls.unavailable
    if scenario.kind == "oneway" and not cls.oneway:
        return "n/a (no oneway call)"
    if scenario.loop == "uvloop" and name not in UVLOOP_CONTENDERS:
        return "not measured"
    return None


def _run_in_loop(loop_name: str, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` in a new event loop of the kind ``loop_name``, as
    ``asyncio.run`` does (``asyncio.Runner``, with its loop factory, is 3.11+)."""
    if loop_name == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def uvloop_available() -> bool:
    """Whether uvloop can be imported (it is in the bench extra)."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run_suite(
    url: str, config: Config, *, progress: Callable[[str], None] | None = None
) -> Results:
    """Run every scenario for every contender against the nats-server at ``url``."""
    say = progress or (lambda text: None)
    wanted = scenarios(
        processes=config.processes, uvloop=config.uvloop and uvloop_available()
    )
    results = Results(config, wanted, list(config.contenders))
    started = time.perf_counter()
    for scenario in wanted:
        for name in config.contenders:
            results.cells[scenario.key, name] = Cell(
                scenario, name, status=_status(scenario, name)
            )
    for loop_name, group in _by_loop(wanted):
        _run_in_loop(loop_name, _run_group(url, config, group, results, say))
    results.seconds = time.perf_counter() - started
    return results


def _by_loop(wanted: list[Scenario]) -> Iterator[tuple[str, list[Scenario]]]:
    loops: dict[str, list[Scenario]] = {}
    for s in wanted:
        loops.setdefault(s.loop, []).append(s)
    yield from loops.items()


async def _run_group(
    url: str,
    config: Config,
    group: list[Scenario],
    results: Results,
    say: Callable[[str], None],
) -> None:
    budget = Budget(config.seconds, config.calls)
    warmup = (
        Budget(config.warmup_seconds, None)
        if config.calls is None
        else Budget(None, min(config.calls, 5))
    )
    async with _Session(url, config, group) as session:
        for repeat in range(config.repeats):
            for scenario in group:
                for name in config.contenders:
                    cell = results.cell(scenario, name)
                    if cell.status is not None:
                        continue
                    try:
                        if repeat == 0:
                            await session.measure(scenario, name, warmup)
                        run = await session.measure(scenario, name, budget)
                    except Exception as exc:
                        cell.status = f"failed: {type(exc).__name__}: {exc}"
                        say(f"{scenario.key:<22} {name:<16} {cell.status}")
                        continue
                    cell.runs.append(run)
                    say(
                        f"run {repeat + 1}/{config.repeats} {scenario.key:<22} "
                        f"{name:<16} {run.rate:>10,.0f} calls/s"
                    )
