"""``python -m benchmarks``: run the suite, print the table, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autonats.testing import NatsServer

from benchmarks.ablation import ablation_table, run_ablation
from benchmarks.codegen import time_codegen
from benchmarks.profile import profile_contender
from benchmarks.report import (
    Report,
    load_average,
    machine_info,
    render_markdown,
    stream_target_lines,
    streams_table,
    summary_table,
    target_lines,
    uvloop_table,
    write_chart,
)
from benchmarks.runner import Config, run_suite
from benchmarks.streams import run_streams

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=1.5, help="length of each run (default 1.5)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per cell (default 3)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="20 calls per cell, 1 run: checks code paths",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="page to write (default docs/benchmarks.md); the chart goes beside it",
    )
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument(
        "--no-profile", action="store_true", help="skip the pyinstrument profile"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    if args.smoke:
        config = Config(seconds=None, calls=20, repeats=1, check_every_reply=True)
    else:
        config = Config(seconds=args.seconds, repeats=args.repeats)
    load_before = load_average()
    started = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {text}", flush=True)

    say("generating code for an interface of 200 methods")
    codegen = time_codegen(200, repeats=1 if args.smoke else 3)
    with NatsServer() as server:
        results = run_suite(server.url, config, progress=say)
        profiles = []
        if not args.no_profile and not args.smoke:
            for name in ("raw", "autonats"):
                say(f"profiling {name}")
                profiles.append(profile_contender(server.url, name, seconds=2.0))
        say("ablation: the cost of each mechanism")
        if args.smoke:
            ablation = run_ablation(server.url, seconds=None, calls=20, repeats=1)
        else:
            ablation = run_ablation(server.url, repeats=3)
        say("streams and the blocking client")
        if args.smoke:
            streams = run_streams(server.url, items=200, calls=20, repeats=1)
        else:
            streams = run_streams(server.url, repeats=args.repeats, progress=say)

    report = Report(
        results, machine_info(load_before), codegen, profiles, ablation, streams=streams
    )
    print()
    print(summary_table(results))
    print()
    print("\n".join(target_lines(results)))
    print()
    print(uvloop_table(results))
    print()
    print(ablation_table(ablation))
    print()
    print(streams_table(streams))
    print("\n".join(stream_target_lines(streams)))
    print()
    print(
        f"autonats generate, 200 methods: median {codegen.median:.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in codegen.seconds)})"
    )
    if not args.no_docs:
        chart = args.out.with_suffix(".png")
        if write_chart(results, chart):
            report.chart = chart.name
        else:
            print("matplotlib is not installed: no chart", file=sys.stderr)
        report.command = _command(args.out)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_markdown(report))
        print(f"wrote {args.out}" + (f" and {chart}" if report.chart else ""))
    failures = results.failures()
    for cell in failures:
        print(f"FAILED {cell.scenario.key} {cell.contender}: {cell.status}")
    say("done")
    return 1 if failures else 0


def _command(out: Path) -> str:
    """The make target that writes ``out`` (the page names it), else the command."""
    docs = ROOT / "docs"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if out.resolve() == docs / "benchmarks.md":
        return "make bench"
    if out.resolve() == docs / f"benchmarks-python{version}.md":
        return f"make bench-python-{version}"
    return f"python -m benchmarks --out {out}"


if __name__ == "__main__":
    raise SystemExit(main())
