"""Fixtures of the security tests: secured nats-servers (passwords, tokens, nkeys,
JWTs, TLS, permissions) on loopback, and the CLI run with a clean environment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from autonats.testing import NatsServer, Operator, TlsFiles

from sec_support import SECURITY

__all__ = ["SECURITY"]


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
