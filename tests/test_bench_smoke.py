"""The benchmark suite runs every contender's code paths with tiny counts.

Timings are never asserted: only that every cell ran, counted what it should
and that the report renders. ``make bench`` runs the same code for real.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# benchmarks/ is a top-level package of the repository, not of the installed
# project: import it from the checkout, as ``python -m benchmarks`` does.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ablation import VARIANTS, ablation_table, run_ablation  # noqa: E402
from benchmarks.codegen import interface_source, time_codegen  # noqa: E402
from benchmarks.contenders import CONTENDERS  # noqa: E402
from benchmarks.report import (  # noqa: E402
    Report,
    _against,
    breaker_table,
    render_markdown,
    stream_target_lines,
    streams_table,
    summary_table,
    tracing_table,
    write_chart,
)
from benchmarks.runner import Config, Results, run_suite, uvloop_available  # noqa: E402
from benchmarks.streams import run_streams  # noqa: E402
from support import global_tracer_provider  # noqa: E402

CALLS = 20


@pytest.fixture(scope="module")
def results(nats_url: str) -> Results:
    config = Config(seconds=None, calls=CALLS, repeats=1, check_every_reply=True)
    # The tracing contenders install a tracer provider: never past this module.
    with global_tracer_provider():
        return run_suite(nats_url, config)


def test_every_contender_is_in_the_table(results: Results) -> None:
    assert results.contenders == [c.name for c in CONTENDERS]
    assert {"raw", "micro", "faststream", "grpc", "autonats"} <= set(results.contenders)
    for scenario in results.scenarios:
        for name in results.contenders:
            assert (scenario.key, name) in results.cells


def test_every_measurable_cell_made_exactly_its_calls(results: Results) -> None:
    assert results.failures() == []
    for cell in results.cells.values():
        if cell.status is not None:
            continue
        assert len(cell.runs) == 1, cell
        run = cell.runs[0]
        assert run.calls == CALLS, cell
        assert run.seconds > 0
        if cell.scenario.kind == "seq":
            assert run.p50_us is not None and run.p99_us is not None
            assert 0 < run.p50_us <= run.p99_us


def test_scenarios_cover_the_issue(results: Results) -> None:
    kinds = {(s.kind, s.size, s.process, s.loop) for s in results.scenarios}
    for kind in ("seq", "par"):
        for size in (100, 10_000, 500_000):
            assert (kind, size, False, "asyncio") in kinds
        assert (kind, 100, True, "asyncio") in kinds
    assert ("oneway", 100, False, "asyncio") in kinds
    assert ("oneway", 100, True, "asyncio") in kinds
    has_uvloop = any(s.loop == "uvloop" for s in results.scenarios)
    assert has_uvloop == uvloop_available()


def test_every_contender_ran_in_a_separate_process(results: Results) -> None:
    for name in (
        "raw",
        "micro",
        "faststream",
        "grpc",
        "autonats",
        "autonats-breaker",
        "raw-traceparent",
        "autonats-traced",
        "autonats-traced-mesh",
        "autonats-traced-all",
    ):
        process_cells = [
            c
            for c in results.cells.values()
            if c.contender == name and c.scenario.process
        ]
        assert any(c.ok for c in process_cells), name


def test_cells_not_measured_say_why(results: Results) -> None:
    statuses = {
        (key, name): cell.status
        for (key, name), cell in results.cells.items()
        if cell.status is not None
    }
    assert statuses[("oneway-100B", "micro")].startswith("n/a")
    assert statuses[("oneway-100B", "grpc")].startswith("n/a")
    assert statuses[("oneway-100B", "autonats-breaker")].startswith("n/a")
    assert ("seq-100B", "autonats-breaker") not in statuses
    assert ("oneway-100B", "autonats") not in statuses
    assert ("seq-100B", "autonats-traced") not in statuses
    assert ("oneway-100B", "autonats-traced") not in statuses
    assert ("oneway-100B", "autonats-traced-mesh") not in statuses
    assert ("par-100B", "autonats-traced-all") not in statuses


def test_report_renders(results: Results) -> None:
    table = summary_table(results)
    for cls in CONTENDERS:
        assert (cls.label in table) is not cls.tracing_cost, cls.name
    traced = tracing_table(results)
    rows = traced.splitlines()[2:]
    # uvloop runs measure plain autonats only: no row of theirs
    assert len(rows) == sum(s.loop != "uvloop" for s in results.scenarios)
    for row in rows:  # every ratio column filled (oneway included)
        assert all(cell.strip() for cell in row.split("|")[1:-1]), row
    breaker = breaker_table(results)
    # a row per request/reply scenario on asyncio, none for oneway
    assert len(breaker.splitlines()[2:]) == sum(
        s.kind != "oneway" and s.loop == "asyncio" for s in results.scenarios
    )
    page = render_markdown(Report(results, {"cores": "2"}, time_codegen(10, 1)))
    assert "# Benchmarks" in page
    assert traced in page
    assert breaker in page
    assert "10 methods" in page


@pytest.mark.parametrize(
    ("ratio", "target", "shown"),
    [
        (0.91, 0.9, "0.91"),
        (0.9, 0.9, "0.90"),
        (0.8985, 0.9, "0.898"),  # "0.90" would read as met
        (0.9049, 0.9, "0.905"),
        (0.8996, 0.9, "0.8996"),  # "0.900" too
        (0.8499, 0.85, "0.8499"),
    ],
)
def test_ratio_is_never_shown_on_the_wrong_side_of_its_target(
    ratio: float, target: float, shown: str
) -> None:
    assert _against(ratio, target) == shown


def test_chart_is_written(results: Results, tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    assert write_chart(results, chart)
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_codegen_interface_of_many_methods_generates() -> None:
    result = time_codegen(200, repeats=1)
    assert len(result.seconds) == 1
    assert result.output_lines > 200
    assert interface_source(3).count("async def m") == 3


def test_profile_summarises(nats_url: str) -> None:
    from benchmarks.profile import profile_contender

    profile = profile_contender(nats_url, "autonats", seconds=0.1, inflight=5)
    assert profile.calls > 0
    assert any(area.startswith("autonats ") for area in profile.areas)


def test_ablation_runs_every_variant(nats_url: str) -> None:
    rows = run_ablation(nats_url, seconds=None, calls=CALLS, repeats=1, inflight=5)
    assert [r.variant for r in rows] == list(VARIANTS)
    for row in rows:
        assert len(row.seq) == len(row.par) == 1
        assert row.seq_rate > 0 and row.par_rate > 0
    assert "wildcard inbox" in ablation_table(rows)


def test_generated_bench_module_is_current() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autonats.cli",
            "generate",
            "--check",
            "benchmarks/echo.py",
            "benchmarks/feed.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_streams_and_the_blocking_client_are_measured(nats_url: str) -> None:
    results = run_streams(nats_url, items=200, calls=CALLS, repeats=1)
    rows = (
        results.raw,
        results.stream,
        results.async_calls,
        results.sync_calls,
        results.raw_async_calls,
        results.raw_sync_calls,
    )
    for row in rows:
        assert len(row.runs) == 1 and row.runs[0] > 0, row
    table = streams_table(results)
    assert "autonats stream" in table and "blocking client" in table
    lines = stream_target_lines(results)
    assert len(lines) == 2 and all(" met" in x or "missed" in x for x in lines)
    for costs in (results.thread_round_trip_us, results.empty_blocking_us):
        assert len(costs) == 1 and costs[0] > 0, costs
    page = render_markdown(
        Report(results=_empty_results(), machine={}, streams=results)
    )
    assert table in page
    assert "two plain Python threads passing a lock take" in page
    assert "raw nats-py request, blocking on autonats.sync's thread" in table
    assert "- the floor: raw nats-py requests run the same way" in page


def _empty_results() -> Results:
    config = Config(seconds=None, calls=1, repeats=1, contenders=("raw",))
    return Results(config, [], ["raw"])
