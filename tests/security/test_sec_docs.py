"""docs/security.md's worked example, step by step: the example shop over TLS,
one user per service, permissions from ``autonats permissions``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from autonats.testing import NatsServer

from sec_support import clean_env, cli

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORDS = {
    "USER_SVC_PASSWORD": "pw-user-svc-1",
    "INVENTORY_SVC_PASSWORD": "pw-inventory-svc-2",
    "WEB_PASSWORD": "pw-web-3",
}


def test_the_worked_example(tmp_path: Path, home: Path, serving_shop: Any) -> None:
    for name in (
        "users.py",
        "users_nats.py",
        "users_v2.py",
        "users_v2_nats.py",
        "models.py",
        "shop.py",
    ):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    env = clean_env(home)
    (tmp_path / "certs").mkdir()
    made = subprocess.run(
        [sys.executable, "-m", "trustme", "-q", "-d", "certs"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    for name, args in {
        "user-svc": ["--handler", "user"],
        "inventory-svc": ["--handler", "inventory"],
        "web": [
            "--client",
            "user,inventory",
            "--discovery",
            "--inbox-prefix",
            "_INBOX_web",
        ],
    }.items():
        out = cli(
            "permissions", "users.py", *args, "--format", "conf", env=env, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
        (tmp_path / f"{name}.conf").write_text(out.stdout)
    # As in the docs, but nats-server reads certificate paths from its own
    # folder (the docs run it in examples/): absolute paths here.
    (tmp_path / "server.conf").write_text(
        f"""
tls {{
  cert_file: "{tmp_path}/certs/server.pem"
  key_file: "{tmp_path}/certs/server.key"
}}"""
        + """
authorization {
  users: [
    {user: user-svc, password: $USER_SVC_PASSWORD, include "user-svc.conf"}
    {user: inventory-svc, password: $INVENTORY_SVC_PASSWORD, include "inventory-svc.conf"}
    {user: web, password: $WEB_PASSWORD, include "web.conf"}
  ]
}
"""
    )
    server = NatsServer(args=["-c", str(tmp_path / "server.conf")])
    import os

    saved = {k: os.environ.get(k) for k in PASSWORDS}
    os.environ.update(PASSWORDS)  # nats-server reads $NAME from its environment
    try:
        server.start()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        url = server.tls_url
        ca = ["--tlsca", "certs/client.pem"]
        for target, user in (
            ("shop:UserStore", "user-svc"),
            ("shop:Inventory", "inventory-svc"),
        ):
            password = PASSWORDS[f"{user.replace('-', '_').upper()}_PASSWORD"]
            serving_shop(
                tmp_path,
                [target, "-s", url, *ca, "--user", user],
                clean_env(home, NATS_PASSWORD=password),
                "serving ",
            )
        web = clean_env(
            home,
            NATS_URL=url,
            NATS_CA="certs/client.pem",
            NATS_USER="web",
            NATS_PASSWORD=PASSWORDS["WEB_PASSWORD"],
        )
        created = cli(
            "call",
            "user.create",
            "name=Ada",
            "--inbox-prefix",
            "_INBOX_web",
            env=web,
            cwd=tmp_path,
        )
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["name"] == "Ada"
        # A stream under the same permissions: several replies to one request
        # (allow_responses), the caller's credit and cancel on the control
        # subjects. The shop's watch never ends: a 2 s wait for the next item
        # ends the call.
        watched = cli(
            "call",
            "user.watch",
            "--timeout",
            "2",
            "--inbox-prefix",
            "_INBOX_web",
            env=web,
            cwd=tmp_path,
        )
        first = json.loads(watched.stdout.splitlines()[0])
        assert (first["kind"], first["user"]["name"]) == ("created", "Ada")
        assert watched.returncode == 1
        assert "permission" not in watched.stderr.lower(), watched.stderr
        info = cli(
            "info", "user", "--inbox-prefix", "_INBOX_web", env=web, cwd=tmp_path
        )
        assert info.returncode == 0, info.stderr
        listed = cli("ls", "--inbox-prefix", "_INBOX_web", env=web, cwd=tmp_path)
        assert listed.returncode == 1
        assert listed.stderr.strip() == (
            "autonats: permission denied: the NATS user may not publish to $srv.info "
            "(autonats permissions prints what each role needs)"
        )
        for result in (created, watched, info, listed):
            for secret in PASSWORDS.values():
                assert secret not in result.stdout + result.stderr
    finally:
        server.close()


@pytest.fixture
def serving_shop() -> Any:
    procs: list[subprocess.Popen[bytes]] = []

    def start(cwd: Path, args: list[str], env: dict[str, str], ready: str) -> None:
        log = cwd / f"serve-{len(procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "autonats.cli", "serve", *args],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        procs.append(proc)
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if ready in log.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise AssertionError(log.read_text(errors="replace"))

    try:
        yield start
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
