"""``autonats.connect``: every way NATS users authenticate, against real servers.

Each server is configured for real (users, tokens, nkeys, an operator with
JWTs, TLS and mutual TLS); wrong secrets and bad files fail at once with one
line that names the file or the server and never the secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import autonats
import pytest
from autonats.runtime.connect import redact_url, resolve
from autonats.testing import NatsServer, Operator, TlsFiles, nkey_seed, public_key

from sec_support import users

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cret-Pa55"


async def _echo(nc: object) -> None:
    """The connection works: a request crosses the server and comes back."""
    import nats.aio.client

    assert isinstance(nc, nats.aio.client.Client)

    async def echo(msg: object) -> None:
        await msg.respond(b"pong")  # type: ignore[attr-defined]

    sub = await nc.subscribe("t.echo", cb=echo)
    reply = await nc.request("t.echo", b"ping", timeout=5)
    assert reply.data == b"pong"
    await sub.unsubscribe()


async def _round_trip(nc: object) -> None:
    """:func:`_echo`, then close the connection."""
    try:
        await _echo(nc)
    finally:
        await nc.close()  # type: ignore[attr-defined]


async def _refused(**kwargs: object) -> str:
    with pytest.raises(autonats.ConnectionError) as caught:
        await autonats.connect(
            **kwargs, max_reconnect_attempts=-1, reconnect_time_wait=0.1
        )
    return str(caught.value)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """No NATS_* variable and an empty home: the test sets what it uses."""
    for name in list(__import__("os").environ):
        if name.startswith("NATS_") or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    return home


async def test_user_and_password(server_factory, isolated: Path) -> None:
    server = server_factory(users({"user": "alice", "password": SECRET}))
    await _round_trip(await autonats.connect(server.url, user="alice", password=SECRET))
    # In the URL, as nats-py takes it.
    await _round_trip(
        await autonats.connect(server.url.replace("//", f"//alice:{SECRET}@"))
    )
    message = await _refused(servers=server.url, user="alice", password="wrong-pw")
    assert "authorization violation" in message
    assert server.url in message
    assert "wrong-pw" not in message
    leaked = await _refused(servers=server.url.replace("//", "//alice:wrong-pw@"))
    assert "wrong-pw" not in leaked and "alice:***@" in leaked


async def test_token_and_a_user_alone_is_a_token(server_factory, isolated) -> None:
    server = server_factory({"authorization": {"token": SECRET}})
    await _round_trip(await autonats.connect(server.url, token=SECRET))
    await _round_trip(await autonats.connect(server.url, user=SECRET))
    message = await _refused(servers=server.url, token="not-the-token")
    assert "authorization violation" in message
    assert "not-the-token" not in message


async def test_nkey_seed_file(server_factory, isolated, tmp_path: Path) -> None:
    seed = nkey_seed()
    server = server_factory(users({"nkey": public_key(seed)}))
    path = tmp_path / "user.nk"
    path.write_text(seed + "\n")
    await _round_trip(await autonats.connect(server.url, nkey=str(path)))

    other = tmp_path / "other.nk"
    other.write_text(nkey_seed())
    assert "authorization violation" in await _refused(
        servers=server.url, nkey=str(other)
    )
    missing = await _refused(servers=server.url, nkey=str(tmp_path / "nope.nk"))
    assert missing == f"nkey file {tmp_path / 'nope.nk'}: no such file"
    garbage = tmp_path / "garbage.nk"
    garbage.write_text("SUNOTASEED" + SECRET)
    message = await _refused(servers=server.url, nkey=str(garbage))
    assert message == f"nkey file {garbage} does not hold a valid nkey seed"
    assert SECRET not in message


async def test_creds_file_in_operator_mode(
    server_factory, isolated, operator: Operator, tmp_path: Path
) -> None:
    server = server_factory(operator.server_config())
    creds = operator.creds("alice")
    await _round_trip(await autonats.connect(server.url, creds=str(creds)))
    # Inline, as a context may hold it (data: URI), and from a variable (env://).
    import base64
    import os

    inline = "data:;base64," + base64.b64encode(creds.read_bytes()).decode()
    await _round_trip(await autonats.connect(server.url, creds=inline))
    os.environ["AUTONATS_TEST_CREDS"] = creds.read_text()
    try:
        await _round_trip(
            await autonats.connect(server.url, creds="env://AUTONATS_TEST_CREDS")
        )
    finally:
        del os.environ["AUTONATS_TEST_CREDS"]

    assert "authorization violation" in await _refused(servers=server.url)
    expired = operator.creds("late", expires=-60)
    message = await _refused(servers=server.url, creds=str(expired))
    assert "refused the connection" in message
    not_creds = tmp_path / "notes.creds"
    not_creds.write_text("hello")
    assert "is not a NATS credentials file" in await _refused(
        servers=server.url, creds=str(not_creds)
    )
    folder = tmp_path / "folder.creds"
    folder.mkdir()
    assert await _refused(servers=server.url, creds=str(folder)) == (
        f"creds file {folder}: is a folder, not a file"
    )


async def test_tls_with_a_ca(server_factory, isolated, tls: TlsFiles) -> None:
    server = server_factory(tls.server_config())
    await _round_trip(await autonats.connect(server.tls_url, ca=tls.ca))
    # The server requires TLS: a nats:// URL upgrades too.
    await _round_trip(await autonats.connect(server.url, ca=tls.ca))
    untrusted = await _refused(servers=server.tls_url)
    assert "TLS: the server's certificate is not trusted" in untrusted
    assert "--tlsca" in untrusted


async def test_mutual_tls(server_factory, isolated, tls: TlsFiles) -> None:
    server = server_factory(tls.server_config(verify=True))
    await _round_trip(
        await autonats.connect(
            server.tls_url, ca=tls.ca, cert=tls.client_cert, key=tls.client_key
        )
    )
    without = await _refused(servers=server.tls_url, ca=tls.ca)
    assert "requires a client certificate" in without
    half = await _refused(servers=server.tls_url, ca=tls.ca, cert=tls.client_cert)
    assert "needs both --tlscert and --tlskey" in half
    assert (
        await _refused(servers=server.tls_url, ca="/nope/ca.pem")
        == "TLS CA file /nope/ca.pem: no such file"
    )


async def test_tls_close_is_quiet(
    server_factory, isolated, tls: TlsFiles, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncio's "returning true from eof_received() has no effect when using ssl"
    is not logged when a TLS connection ends, by us or by the server."""
    server = server_factory(tls.server_config())
    caplog.set_level(logging.DEBUG, logger="asyncio")
    nc = await autonats.connect(
        server.tls_url, ca=tls.ca, max_reconnect_attempts=0, reconnect_time_wait=0.1
    )
    await nc.flush()
    server.stop()  # the server closes the TLS connection: EOF
    await asyncio.sleep(0.5)
    await nc.close()
    assert not [r for r in caplog.records if "eof_received" in r.getMessage()]


def _write_context(home: Path, name: str, **fields: object) -> Path:
    folder = home / ".config" / "nats" / "context"
    folder.mkdir(parents=True, exist_ok=True)
    # What `nats context add` writes: every key, empty when unset.
    data = {
        "description": "",
        "url": "",
        "socks_proxy": "",
        "token": "",
        "user": "",
        "password": "",
        "creds": "",
        "nkey": "",
        "cert": "",
        "key": "",
        "ca": "",
        "nsc": "",
        "jetstream_domain": "",
        "jetstream_api_prefix": "",
        "jetstream_event_prefix": "",
        "inbox_prefix": "",
        "user_jwt": "",
        "color_scheme": "",
        "tls_first": False,
        "windows_cert_store": "",
        "windows_cert_match_by": "",
        "windows_cert_match": "",
        "windows_ca_certs_match": [],
    }
    data.update(fields)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def _shop_context(server_factory: Any, home: Path, tls: TlsFiles) -> NatsServer:
    """A mutual-TLS server with user alice, and a context ``shop`` in ``home``
    holding everything needed to reach it (with a private inbox prefix)."""
    server = server_factory(
        {
            **tls.server_config(verify=True),
            **users({"user": "alice", "password": SECRET}),
        }
    )
    _write_context(
        home,
        "shop",
        url=server.tls_url,
        user="alice",
        password=SECRET,
        ca=tls.ca,
        cert=tls.client_cert,
        key=tls.client_key,
        inbox_prefix="_INBOX_alice",
    )
    return server


async def test_context_file(
    server_factory, isolated: Path, tls: TlsFiles, monkeypatch
) -> None:
    _shop_context(server_factory, isolated, tls)
    nc = await autonats.connect(context="shop")
    assert nc.new_inbox().startswith("_INBOX_alice.")
    await _round_trip(nc)
    # Selected with `nats context select`, or named by NATS_CONTEXT.
    (isolated / ".config" / "nats" / "context.txt").write_text("shop")
    await _round_trip(await autonats.connect())
    (isolated / ".config" / "nats" / "context.txt").unlink()
    monkeypatch.setenv("NATS_CONTEXT", "shop")
    await _round_trip(await autonats.connect())
    # XDG_CONFIG_HOME moves the folder.
    monkeypatch.delenv("NATS_CONTEXT")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(isolated / ".config"))
    await _round_trip(await autonats.connect(context="shop"))

    missing = await _refused(context="nope")
    assert missing.startswith("no NATS context named 'nope'")


async def test_environment_variables(
    server_factory, isolated: Path, tls: TlsFiles, monkeypatch, operator: Operator
) -> None:
    server = server_factory(
        {**tls.server_config(verify=True), **operator.server_config()}
    )
    creds = operator.creds("env-user")
    monkeypatch.setenv("NATS_URL", server.tls_url)
    monkeypatch.setenv("NATS_CREDS", str(creds))
    monkeypatch.setenv("NATS_CA", tls.ca)
    monkeypatch.setenv("NATS_CERT", tls.client_cert)
    monkeypatch.setenv("NATS_KEY", tls.client_key)
    await _round_trip(await autonats.connect())


def test_the_blocking_connection_takes_the_same_settings(
    server_factory, isolated: Path, tls: TlsFiles, monkeypatch
) -> None:
    """``autonats.sync.connect`` resolves contexts, variables and secrets
    exactly as ``autonats.connect`` does."""
    server = _shop_context(server_factory, isolated, tls)
    with autonats.sync.connect(context="shop") as conn:
        assert conn.nc.new_inbox().startswith("_INBOX_alice.")
        conn.run(_echo(conn.nc))

    for name, value in {
        "NATS_URL": server.tls_url,
        "NATS_USER": "alice",
        "NATS_PASSWORD": SECRET,
        "NATS_CA": tls.ca,
        "NATS_CERT": tls.client_cert,
        "NATS_KEY": tls.client_key,
    }.items():
        monkeypatch.setenv(name, value)
    with autonats.sync.connect() as conn:
        conn.run(_echo(conn.nc))

    with pytest.raises(autonats.ConnectionError) as caught:
        autonats.sync.connect(password="wrong-pw", max_reconnect_attempts=-1)
    assert "authorization violation" in str(caught.value)
    assert server.tls_url in str(caught.value)
    assert "wrong-pw" not in str(caught.value)


def test_precedence_flag_then_environment_then_context(isolated: Path) -> None:
    _write_context(
        isolated,
        "ctx",
        url="nats://ctx:1",
        user="ctx-user",
        password="ctx-pw",
        inbox_prefix="_INBOX_ctx",
    )
    env = {"NATS_URL": "nats://env:2", "NATS_USER": "env-user", "NATS_CONTEXT": "ctx"}
    resolved = resolve(None, env={**env, "HOME": str(isolated)})
    assert resolved.servers == ("nats://env:2",)
    assert (resolved.user, resolved.password) == ("env-user", "ctx-pw")
    assert resolved.inbox_prefix == "_INBOX_ctx"
    assert resolved.context == "ctx"
    flagged = resolve(
        "nats://flag:3", user="flag-user", env={**env, "HOME": str(isolated)}
    )
    assert flagged.servers == ("nats://flag:3",)
    assert flagged.user == "flag-user"
    plain = resolve(None, env={"HOME": str(isolated)})
    assert plain.servers == ("nats://127.0.0.1:4222",)
    assert not plain.explicit_servers and plain.context is None
    # Secrets stay out of reprs.
    assert "ctx-pw" not in repr(resolved)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://alice:pw1@127.0.0.1:4222", "nats://alice:***@127.0.0.1:4222"),
        ("nats://s3cret@127.0.0.1:4222", "nats://***@127.0.0.1:4222"),
        ("tls://a:b@[::1]:4222", "tls://a:***@[::1]:4222"),
        ("alice:pw@host:4222", "nats://alice:***@host:4222"),
        ("nats://a:p%40ss@host", "nats://a:***@host"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_no_secret_in_the_clear_when_tls_was_asked_for(
    server_factory, isolated
) -> None:
    """nats-py would send the CONNECT in the clear to a tls:// URL whose server
    does not offer TLS; autonats refuses before the password leaves."""
    server = server_factory(users({"user": "alice", "password": SECRET}))
    for kwargs in (
        {"servers": server.tls_url, "user": "alice", "password": SECRET},
        {"servers": server.tls_url.replace("//", f"//alice:{SECRET}@")},
        {"servers": server.tls_url, "token": SECRET},
    ):
        message = await _refused(**kwargs)
        assert "the server does not offer TLS; credentials were not sent" in message
        assert SECRET not in message
    # In the clear when asked for: a nats:// URL.
    await _round_trip(await autonats.connect(server.url, user="alice", password=SECRET))
