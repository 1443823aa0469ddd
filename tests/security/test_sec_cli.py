"""``autonats serve`` and ``autonats call`` as child processes, with every way of
authenticating; refusals end in one line and exit 1; no secret is ever printed."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from autonats.testing import NatsServer, Operator, TlsFiles, nkey_seed, public_key

from sec_support import SECURITY, clean_env, cli, users

pytestmark = pytest.mark.timeout(120)

SECRET = "s3cret-Pa55"


class Serving:
    """``autonats serve sec_impl:Billing ARGS`` in a child process."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "autonats.cli",
                    "serve",
                    "sec_impl:Billing",
                    *args,
                ],
                cwd=SECURITY,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in the output of serve:\n{self.output}")

    def exit_code(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Any]:
    started: list[Serving] = []

    def start(args: list[str], env: dict[str, str]) -> Serving:
        serve = Serving(args, env, tmp_path / f"serve-{len(started)}.log")
        started.append(serve)
        return serve

    try:
        yield start
    finally:
        for serve in started:
            serve.stop()


def _context(home: Path, name: str, **fields: Any) -> None:
    folder = home / ".config" / "nats" / "context"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"description": "", **fields}))


def _methods(tmp_path: Path, tls: TlsFiles, operator: Operator) -> dict[str, Any]:
    """Per method: (server config, URL kind, flags, extra environment, secrets)."""
    seed = nkey_seed()
    seed_file = tmp_path / "user.nk"
    seed_file.write_text(seed)
    creds = operator.creds("cli-user")
    creds_seed = creds.read_text().split("BEGIN USER NKEY SEED-----\n")[1].split()[0]
    password = users({"user": "alice", "password": SECRET})
    return {
        "password": (
            password,
            "url",
            ["--user", "alice", "--password", SECRET],
            {},
            [SECRET],
        ),
        "token-env": (
            {"authorization": {"token": SECRET}},
            "url",
            [],
            {"NATS_TOKEN": SECRET},
            [SECRET],
        ),
        "token-as-user": (
            {"authorization": {"token": SECRET}},
            "url",
            ["--user", SECRET],
            {},
            [SECRET],
        ),
        "nkey": (
            users({"nkey": public_key(seed)}),
            "url",
            ["--nkey", str(seed_file)],
            {},
            [seed],
        ),
        "creds": (
            operator.server_config(),
            "url",
            ["--creds", str(creds)],
            {},
            [creds_seed],
        ),
        "tls": (tls.server_config(), "tls_url", ["--tlsca", tls.ca], {}, []),
        "mtls": (
            {**tls.server_config(verify=True), **password},
            "tls_url",
            [
                "--tlsca",
                tls.ca,
                "--tlscert",
                tls.client_cert,
                "--tlskey",
                tls.client_key,
                "--user",
                "alice",
                "--password",
                SECRET,
            ],
            {},
            [SECRET],
        ),
        "context": (password, "context", ["--context", "shop"], {}, [SECRET]),
        "environment": (
            password,
            "env",
            [],
            {"NATS_USER": "alice", "NATS_PASSWORD": SECRET},
            [SECRET],
        ),
    }


METHODS = [
    "password",
    "token-env",
    "token-as-user",
    "nkey",
    "creds",
    "tls",
    "mtls",
    "context",
    "environment",
]


@pytest.mark.parametrize("method", METHODS)
def test_serve_and_call(
    method: str,
    tmp_path: Path,
    home: Path,
    tls: TlsFiles,
    operator: Operator,
    server_factory: Any,
    serving: Any,
) -> None:
    config, where, flags, extra, secrets = _methods(tmp_path, tls, operator)[method]
    server: NatsServer = server_factory(config)
    env = clean_env(home, **extra)
    args = list(flags)
    if where == "url":
        args += ["-s", server.url]
    elif where == "tls_url":
        args += ["--server", server.tls_url]
    elif where == "context":
        _context(home, "shop", url=server.url, user="alice", password=SECRET)
    else:
        env["NATS_URL"] = server.url
    serve = serving(args, env)
    serve.wait_for("serving billing")
    called = cli("call", "billing.total", "order=abc", *args, env=env)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == 300
    info = cli("info", "billing", "--json", *args, env=env)
    assert info.returncode == 0, info.stderr
    assert serve.stop() == 0
    for text in (serve.output, called.stdout, called.stderr, info.stdout, info.stderr):
        for secret in secrets:
            assert secret not in text


def test_serve_refused_at_start_exits_with_one_line(
    tmp_path: Path, home: Path, tls: TlsFiles, server_factory: Any, serving: Any
) -> None:
    server = server_factory(
        {**tls.server_config(), **users({"user": "alice", "password": SECRET})}
    )
    env = clean_env(home)
    cases = {
        "wrong-password": (
            [
                "-s",
                server.tls_url,
                "--tlsca",
                tls.ca,
                "--user",
                "alice",
                "--password",
                "wrong-pw",
            ],
            "refused the connection: authorization violation",
        ),
        "untrusted": (
            ["-s", server.tls_url, "--user", "alice", "--password", SECRET],
            "TLS: the server's certificate is not trusted",
        ),
        "missing-creds": (
            ["-s", server.url, "--creds", str(tmp_path / "gone.creds")],
            f"creds file {tmp_path / 'gone.creds'}: no such file",
        ),
    }
    for name, (args, expected) in cases.items():
        serve = serving(args, env)
        assert serve.exit_code(timeout=20) == 1, name
        lines = serve.output.strip().splitlines()
        assert len(lines) == 1, serve.output
        assert lines[0].startswith("autonats: ") and expected in lines[0], lines
        assert SECRET not in serve.output and "wrong-pw" not in serve.output


def test_serve_reconnects_after_losing_a_server_that_accepted_it(
    home: Path, server_factory: Any, serving: Any
) -> None:
    server = server_factory(users({"user": "alice", "password": SECRET}))
    args = [
        "-s",
        server.url,
        "--user",
        "alice",
        "--password",
        SECRET,
    ]
    env = clean_env(home)
    serve = serving([*args, "--reconnect-wait", "0.2"], env)
    serve.wait_for("serving billing")
    server.restart(pause=0.5)
    serve.wait_for("nats: reconnected", timeout=30)
    called = cli("call", "billing.total", "order=ab", *args, env=env)
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == 200
    assert serve.proc.poll() is None
    assert serve.stop() == 0
    assert SECRET not in serve.output


def test_denied_calls_and_discovery_are_one_line(
    home: Path, server_factory: Any
) -> None:
    from test_sec_permissions import permissions

    client = permissions("--client", "inventory", "--inbox-prefix", "_INBOX_alice")
    server = server_factory(
        users({"user": "alice", "password": SECRET, "permissions": client})
    )
    env = clean_env(home)
    args = [
        "-s",
        server.url,
        "--user",
        "alice",
        "--password",
        SECRET,
        "--inbox-prefix",
        "_INBOX_alice",
    ]
    started = time.monotonic()
    called = cli("call", "billing.total", "order=x", "--timeout", "10", *args, env=env)
    assert time.monotonic() - started < 8
    assert called.returncode == 1
    assert called.stderr.strip().splitlines() == [
        "autonats: permission denied: the NATS user may not publish to "
        "autonats.billing.total (autonats permissions prints what each role needs)"
    ]
    listed = cli("ls", *args, env=env)
    assert listed.returncode == 1
    assert "permission denied" in listed.stderr and "$srv.info" in listed.stderr
    # A private-inbox user connecting without its prefix is told so.
    lost = cli("call", "inventory.count", "sku=apple", *args[:-2], env=env)
    assert lost.returncode == 1
    assert "may not subscribe to _inbox." in lost.stderr
    for result in (called, listed, lost):
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_urls_and_help_never_show_secrets(home: Path, nats_url: str) -> None:
    env = clean_env(home, NATS_PASSWORD=SECRET, NATS_TOKEN=SECRET, NATS_USER="alice")
    for command in ("serve", "ls", "info", "stats", "call", "permissions"):
        shown = cli(command, "--help", env=env)
        assert shown.returncode == 0
        assert SECRET not in shown.stdout
    url = nats_url.replace("//", f"//alice:{SECRET}@")
    listed = cli("ls", "-s", url, env=clean_env(home))
    assert listed.returncode == 1
    assert SECRET not in listed.stderr
    assert "alice:***@" in listed.stderr
    inline = (
        "data:;base64,"
        + base64.b64encode(b"not a creds file " + SECRET.encode()).decode()
    )
    bad = cli("ls", "-s", nats_url, "--creds", inline, env=clean_env(home))
    assert bad.returncode == 1 and SECRET not in bad.stderr
    assert bad.stderr.startswith(
        "autonats: creds (inline) is not a NATS credentials file"
    )
