"""``make demo`` runs: every kind of call of the example shop, streams and the
blocking client included, against an embedded nats-server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.timeout(180)
def test_the_demo_runs_to_the_end() -> None:
    done = subprocess.run(
        [sys.executable, "demo.py"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "watch() event 2" in out
    assert "watch(since=2), then create('Linus')         -> (3, 'Linus')" in out
    assert "8 threads x 5 get_by_id                      -> 40 x 'Ada Sync'" in out
    assert "autonats.sync.connect() in the event loop" in out
    assert "handlers drained; demo finished" in out
    assert "Traceback" not in done.stderr
