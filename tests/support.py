"""Helpers shared by every test folder: bounded waiting, free ports, ``autonats
serve`` child processes, and OpenTelemetry's global tracer provider set for a
while and taken back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ServeProcess",
    "eventually",
    "free_port",
    "global_tracer_provider",
    "rss_mb",
    "wait_until",
]


async def eventually(
    predicate: Callable[[], bool],
    *,
    timeout: float = 5.0,
    what: str = "condition",
    interval: float = 0.01,
) -> None:
    """Wait (bounded) until ``predicate()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
) -> None:
    """:func:`eventually` for code without an event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class ServeProcess:
    """One ``python -m autonats.cli serve TARGET ARGS`` child process.

    It runs in ``cwd`` with ``cwd`` on its PYTHONPATH (where the interface and
    implementation modules are), logs to ``log``, and is told to stop with
    SIGTERM (it drains) or killed.
    """

    def __init__(
        self,
        target: str,
        *args: str,
        cwd: Path,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(cwd), full_env.get("PYTHONPATH", "")) if p
        )
        full_env["PYTHONUNBUFFERED"] = "1"
        self.log = log
        self.command: Sequence[str] = (
            sys.executable,
            "-m",
            "autonats.cli",
            "serve",
            target,
            *args,
        )
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=cwd,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _serving(self, text: str) -> bool:
        return text in self.output or not self.alive

    async def wait_serving(
        self, text: str = "serving ", timeout: float = 30.0
    ) -> ServeProcess:
        """Wait until it prints ``text`` (it subscribed); fail if it exited."""
        await eventually(
            lambda: self._serving(text),
            timeout=timeout,
            what="autonats serve to subscribe",
            interval=0.05,
        )
        assert self.alive, self.output
        # serve prints after Handler.run(); give the SUBs a moment to propagate
        # to every node of a cluster.
        await asyncio.sleep(0.3)
        return self

    def wait_serving_sync(
        self, text: str = "serving ", timeout: float = 30.0
    ) -> ServeProcess:
        """:meth:`wait_serving` for code without an event loop."""
        wait_until(lambda: self._serving(text), timeout=timeout, what="autonats serve")
        assert self.alive, self.output
        time.sleep(0.2)
        return self

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` (SIGTERM and SIGINT drain), then the exit status (bounded wait)."""
        if self.alive:
            self.process.send_signal(sig)
        await eventually(
            lambda: not self.alive, timeout=timeout, what="serve to exit", interval=0.05
        )
        return self.process.returncode

    def stop_sync(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """:meth:`stop` for code without an event loop; killed if it does not exit."""
        if self.alive:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL: no draining, no goodbye to the server."""
        if self.alive:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def global_tracer_provider(provider: Any = None) -> Iterator[None]:
    """Make ``provider`` OpenTelemetry's global tracer provider (None: leave it
    unset, for code that sets its own), then put back what was there.

    The API lets a process set it once; OpenTelemetry's own test utilities
    reset the same two globals between tests.
    """
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    saved = (trace._TRACER_PROVIDER_SET_ONCE, trace._TRACER_PROVIDER)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    if provider is not None:
        trace.set_tracer_provider(provider)
    try:
        yield
    finally:
        trace._TRACER_PROVIDER_SET_ONCE, trace._TRACER_PROVIDER = saved
