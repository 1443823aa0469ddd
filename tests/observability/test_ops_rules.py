"""docs/operations.md stays true to the metrics: its table lists exactly what
the collector exports, and its Prometheus rules parse and name only those
metrics (or the rules' own recorded series)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from autonats.observe import metrics

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

#: What the exposition adds to a family's name, by type.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


def exported() -> dict[str, set[str]]:
    """Family name as documented (``..._total`` for counters) -> exposed series names."""
    names = {}
    for family in metrics.Collector().collect():
        series = {family.name + suffix for suffix in SUFFIXES[family.type]}
        shown = family.name + ("_total" if family.type == "counter" else "")
        names[shown] = series
    return names


def documented_table() -> list[str]:
    """The metric names in the first column of the Metrics table."""
    text = OPERATIONS.read_text(encoding="utf-8")
    table = text.split("## Metrics", 1)[1].split("\n\n| metric |", 1)[1]
    table = table.split("\n\n", 1)[0]
    return re.findall(r"^\| `(autonats_[a-z_]+)` \|", table, flags=re.MULTILINE)


def rule_blocks() -> list[str]:
    """The YAML code blocks that hold Prometheus rule groups."""
    text = OPERATIONS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    return [b for b in blocks if b.startswith("groups:")]


def expressions(block: str) -> Iterator[str]:
    """Every ``expr:`` of a rules block, a one-liner or a ``|`` block scalar."""
    lines = block.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not match:
            continue
        indent, value = len(match.group(1)), match.group(2)
        if value != "|":
            yield value
            continue
        body = []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        yield "\n".join(body)


def selectors(node: Any) -> Iterator[str]:
    """The metric names a parsed PromQL expression selects."""
    kind = type(node).__name__
    if kind == "VectorSelector":
        yield node.name
    elif kind == "MatrixSelector":
        yield node.vector_selector.name
    elif kind == "BinaryExpr":
        yield from selectors(node.lhs)
        yield from selectors(node.rhs)
    elif kind in ("AggregateExpr", "ParenExpr", "UnaryExpr", "SubqueryExpr"):
        yield from selectors(node.expr)
    elif kind == "Call":
        for arg in node.args:
            yield from selectors(arg)


def test_the_metrics_table_lists_every_exported_metric() -> None:
    assert sorted(documented_table()) == sorted(exported())


def test_the_rules_parse_and_select_only_exported_or_recorded_series() -> None:
    blocks = rule_blocks()
    assert blocks, "docs/operations.md has no Prometheus rules"
    series = set().union(*exported().values())
    recorded = {name for b in blocks for name in re.findall(r"record:\s*(\S+)", b)}
    count = 0
    for block in blocks:
        for expr in expressions(block):
            try:
                tree = promql_parser.parse(expr)
            except ValueError as exc:
                pytest.fail(f"does not parse: {expr}\n{exc}")
            names = set(selectors(tree))
            assert names, expr
            assert names <= series | recorded, (names - series - recorded, expr)
            count += 1
    assert count >= 8
