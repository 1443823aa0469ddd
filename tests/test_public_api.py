"""The public API: ``autonats.__all__`` is sorted, complete and documented, and
``import autonats`` (what interface modules do) does not load nats-py."""

from __future__ import annotations

import subprocess
import sys

import autonats


def test_all_is_sorted_and_every_name_resolves_with_a_docstring() -> None:
    assert autonats.__all__ == sorted(autonats.__all__)
    for name in autonats.__all__:
        value = getattr(autonats, name)
        if name != "__version__":
            assert getattr(value, "__doc__", None), name
    assert {"connect", "discover", "PermissionDenied"} <= set(autonats.__all__)
    assert issubclass(autonats.PermissionDenied, autonats.AutonatsError)


def test_import_does_not_load_nats() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import autonats, sys; print(sorted(m for m in sys.modules if m == 'nats' or m.startswith('nats.')))",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
