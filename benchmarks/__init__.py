"""Benchmarks: autonats against raw nats-py, nats.micro, FastStream and gRPC.

``python -m benchmarks`` (what ``make bench`` runs) measures every contender in
one run, prints the table and writes docs/benchmarks.md with a chart.
``python -m benchmarks --smoke`` runs every code path with tiny counts.
"""
