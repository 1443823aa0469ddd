"""Helpers of the security tests: the CLI run with a clean environment, and
nats-server ``users`` entries."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["CLI_TIMEOUT", "SECURITY", "acli", "clean_env", "cli", "users"]

SECURITY = Path(__file__).resolve().parent
CLI_TIMEOUT = 60

# The test interface and its generated module are imported as top-level modules.
if str(SECURITY) not in sys.path:
    sys.path.insert(0, str(SECURITY))


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment without any NATS_* variable, with ``home`` as HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NATS_") and k != "XDG_CONFIG_HOME"
    }
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def cli(
    *args: str, env: Mapping[str, str], cwd: Path = SECURITY
) -> subprocess.CompletedProcess[str]:
    """Run ``autonats ARGS`` in a child process (blocking)."""
    return subprocess.run(
        [sys.executable, "-m", "autonats.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=dict(env),
    )


async def acli(
    *args: str, env: Mapping[str, str], cwd: Path = SECURITY
) -> subprocess.CompletedProcess[str]:
    """``cli`` without blocking the event loop (for in-process handlers)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autonats.cli",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(
        list(args), proc.returncode, out.decode(), err.decode()
    )


def users(*entries: Mapping[str, Any]) -> dict[str, Any]:
    """A server config with these ``authorization.users``."""
    return {"authorization": {"users": [dict(e) for e in entries]}}
