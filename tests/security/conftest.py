"""Fixtures of the security tests: secured nats-servers (passwords, tokens, nkeys,
JWTs, TLS, permissions) on loopback, and the CLI run with a clean environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from autonats.testing import NatsServer, Operator, TlsFiles

SECURITY = Path(__file__).resolve().parent
CLI_TIMEOUT = 60

# The test interface and its generated module are imported as top-level modules.
if str(SECURITY) not in sys.path:
    sys.path.insert(0, str(SECURITY))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    return TlsFiles(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Operator:
    """An operator and an account (with JetStream) for JWT authentication."""
    return Operator(tmp_path_factory.mktemp("jwt"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder: no NATS context of the machine leaks into a test."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


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


@pytest.fixture
def server_factory() -> Iterator[Any]:
    """Start secured servers for one test: ``start(config, jetstream=False)``."""
    started: list[NatsServer] = []

    def start(config: Mapping[str, Any], *, jetstream: bool = False) -> NatsServer:
        server = NatsServer(config=config, jetstream=jetstream).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()
