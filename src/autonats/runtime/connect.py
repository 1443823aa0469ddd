"""Connecting the way NATS users already do: flags, environment, contexts.

:func:`connect` (``autonats.connect``) and every CLI command resolve their
connection settings here, each setting taken from the first place that has
it: an explicit value (a keyword, a command-line flag), then the ``nats``
CLI's environment variables, then a NATS context, then the defaults.

=================  =================  ===============  ==========================
setting            environment        context key      meaning
=================  =================  ===============  ==========================
``servers``        ``NATS_URL``       ``url``          comma-separated URLs
``user``           ``NATS_USER``      ``user``         without a password: a token
``password``       ``NATS_PASSWORD``  ``password``
``token``          ``NATS_TOKEN``     ``token``
``creds``          ``NATS_CREDS``     ``creds``        JWT credentials file
``nkey``           ``NATS_NKEY``      ``nkey``         nkey seed file
``cert``           ``NATS_CERT``      ``cert``         client certificate (mTLS)
``key``            ``NATS_KEY``       ``key``          its private key
``ca``             ``NATS_CA``        ``ca``           CA that signed the server's
``tls_first``                         ``tls_first``    TLS before the server's INFO
``inbox_prefix``                      ``inbox_prefix`` e.g. ``_INBOX_alice``
``context``        ``NATS_CONTEXT``                    else the selected one
=================  =================  ===============  ==========================

Contexts are the files the ``nats`` CLI writes (ADR-21):
``$XDG_CONFIG_HOME/nats/context/NAME.json`` (else ``~/.config/...``), the
selected one named in ``.../nats/context.txt``. ``creds`` and ``nkey`` may be
paths, ``file://``, ``env://NAME`` or ``data:;base64,...`` URIs.

Every file is checked before connecting, and a refusal at connect time (bad
credentials, an untrusted certificate) is final: :class:`~autonats.ConnectionError`
with one line naming the file or the server, never a secret. Once connected,
losing the server is an outage and nats-py reconnects as configured.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import nats.aio.client
import nats.errors
from autonats.errors import ConnectionError

__all__ = [
    "DEFAULT_URL",
    "ENVIRONMENT",
    "Settings",
    "connect",
    "context_dir",
    "quiet_tls_eof",
    "redact_url",
    "resolve",
]

DEFAULT_URL = "nats://127.0.0.1:4222"

#: Environment variable of each setting, as the ``nats`` CLI names them.
ENVIRONMENT: dict[str, str] = {
    "servers": "NATS_URL",
    "user": "NATS_USER",
    "password": "NATS_PASSWORD",
    "token": "NATS_TOKEN",
    "creds": "NATS_CREDS",
    "nkey": "NATS_NKEY",
    "cert": "NATS_CERT",
    "key": "NATS_KEY",
    "ca": "NATS_CA",
}

#: Context file key of each setting (ADR-21).
_CONTEXT_KEYS: dict[str, str] = {
    "servers": "url",
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "cert": "cert",
    "key": "key",
    "ca": "ca",
    "tls_first": "tls_first",
    "inbox_prefix": "inbox_prefix",
}


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings. ``repr()`` and :attr:`display` hide every secret."""

    servers: tuple[str, ...] = (DEFAULT_URL,)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    creds: str | None = None
    nkey: str | None = None
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    tls_first: bool = False
    inbox_prefix: str | None = None
    #: The context the settings came from, if any.
    context: str | None = None
    #: Whether a server URL was given at all (flag, environment or context).
    explicit_servers: bool = False

    @property
    def display(self) -> str:
        """The servers, comma-separated, with any credentials in them redacted."""
        return ",".join(redact_url(url) for url in self.servers)

    @property
    def wants_tls(self) -> bool:
        """TLS asked for: a ``tls://`` URL, a CA, a client certificate or TLS first."""
        return (
            self.tls_first
            or any(u.lower().startswith("tls://") for u in self.servers)
            or bool(self.ca or self.cert or self.key)
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` (files checked, TLS context built)."""
        servers, user, password = _without_userinfo(self.servers)
        options: dict[str, Any] = {"servers": servers}
        if self.user is None and self.token is None and user is not None:
            # Credentials from the URL travel as options: nats-py never holds
            # (or logs) them in a URL, and TLS is checked before they are sent.
            if password is None:
                options["token"] = user
            else:
                options["user"], options["password"] = user, password
        if self.user is not None and self.password is not None:
            options["user"] = self.user
            options["password"] = self.password
        elif self.user is not None and self.token is None:
            options["token"] = self.user  # as the nats CLI: a user alone is a token
        if self.token is not None:
            options["token"] = self.token
        if self.creds is not None:
            options["user_credentials"] = _creds(self.creds)
        if self.nkey is not None:
            path, seed = _nkey(self.nkey)
            if path is not None:
                options["nkeys_seed"] = path
            else:
                options["nkeys_seed_str"] = seed
        context = _tls_context(self.cert, self.key, self.ca)
        if context is not None:
            options["tls"] = context
        if self.tls_first:
            options["tls_handshake_first"] = True
        if self.inbox_prefix:
            options["inbox_prefix"] = self.inbox_prefix
        return options

    async def connect(self, **nats_options: Any) -> nats.aio.client.Client:
        """A connected nats-py client; ``nats_options`` go to ``nats.connect`` as they are.

        A refusal (credentials, TLS, a file) raises :class:`~autonats.ConnectionError`
        at once, whatever the reconnect options; an unreachable server is retried
        as nats-py's options say.
        """
        options = {**self.options(), **nats_options}
        user_error_cb: Callable[[Exception], Awaitable[None]] | None = options.pop(
            "error_cb", None
        )
        if user_error_cb is not None and not inspect.iscoroutinefunction(user_error_cb):
            raise nats.errors.InvalidCallbackTypeError
        state = _Connecting()
        # A connection that never came up is closed without a word to the
        # caller's callbacks: the one error raised says it all.
        for name in ("disconnected_cb", "closed_cb"):
            if options.get(name) is not None:
                options[name] = _unless_failed(state, options[name])

        async def on_error(exc: Exception) -> None:
            if state.failed:
                return
            if state.active:
                state.last = exc
                if _refusal(exc) is not None:
                    raise _Refused(exc)
                if user_error_cb is None:
                    return  # reported by connect() itself if it gives up
            if user_error_cb is not None:
                await user_error_cb(exc)
            else:
                logging.getLogger("nats.aio.client").error("nats: %s", _text(exc))

        quiet_tls_eof()
        nc = nats.aio.client.Client()
        if self.wants_tls:
            _secrets_over_tls_only(nc, options)
        try:
            await nc.connect(error_cb=on_error, **options)
        except _Refused as refused:
            state.failed = True
            await _close_quietly(nc)
            raise ConnectionError(
                f"{self._where(nc)} refused the connection: {_refusal(refused.cause)}"
            ) from None
        except (OSError, nats.errors.Error, asyncio.TimeoutError) as exc:
            state.failed = True
            await _close_quietly(nc)
            cause = state.last if isinstance(exc, nats.errors.NoServersError) else exc
            reason = _refusal(cause) if cause is not None else None
            raise ConnectionError(
                f"cannot connect to {self._where(nc)}: "
                f"{reason or _unreachable(cause or exc)}"
            ) from None
        finally:
            state.active = False
        return nc

    def _where(self, nc: nats.aio.client.Client) -> str:
        current = nc._current_server
        if current is not None and len(self.servers) > 1:
            return redact_url(current.uri.geturl())
        return self.display


@dataclass
class _Connecting:
    active: bool = True
    failed: bool = False
    last: BaseException | None = None


def _unless_failed(
    state: _Connecting, callback: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        if not state.failed:
            await callback()

    return call


class _Refused(Exception):
    """Raised from the error callback to end nats-py's connect loop on a refusal."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause
        super().__init__("refused")


def _text(exc: BaseException) -> str:
    return " ".join((str(exc).strip() or type(exc).__name__).split())


class _NoTls(Exception):
    """The server does not offer TLS though TLS was asked for."""


def _secrets_over_tls_only(nc: nats.aio.client.Client, options: dict[str, Any]) -> None:
    """Make the password and token callbacks that refuse to be sent in the clear.

    nats-py upgrades to TLS only when the server requires it, and would send
    the CONNECT (password included) in the clear to a ``tls://`` URL whose
    server does not offer TLS. It reads callable credentials while writing
    CONNECT, after the TLS decision: the check goes there.
    """
    handshake_first = bool(options.get("tls_handshake_first"))

    def checked(value: str) -> Callable[[], str]:
        def get() -> str:
            if not (handshake_first or nc._server_info.get("tls_required")):
                raise _Refused(_NoTls("the server does not offer TLS"))
            return value

        return get

    for name in ("password", "token"):
        if isinstance(options.get(name), str):
            options[name] = checked(options[name])
    if isinstance(options.get("user"), str) and "password" in options:
        options["user"] = checked(options["user"])


def _without_userinfo(
    servers: Sequence[str],
) -> tuple[list[str], str | None, str | None]:
    """The URLs without credentials, and the credentials when every URL that has
    some has the same (else the URLs unchanged)."""
    found: set[tuple[str, str | None]] = set()
    stripped = []
    for url in servers:
        try:
            parts = urlsplit(url if "://" in url else f"nats://{url}")
        except ValueError:
            return list(servers), None, None
        if "@" in parts.netloc:
            userinfo, _, host = parts.netloc.rpartition("@")
            name, colon, secret = userinfo.partition(":")
            found.add((unquote(name), unquote(secret) if colon else None))
            url = urlunsplit(parts._replace(netloc=host))
        stripped.append(url)
    if len(found) != 1:
        return list(servers), None, None
    ((user, password),) = found
    return stripped, user, password


def _refusal(exc: BaseException) -> str | None:
    """Why the server refused us, in one line, or None when it is not a refusal."""
    text = _text(exc).lower()
    if isinstance(exc, _NoTls):
        return (
            "the server does not offer TLS; credentials were not sent "
            "(use a nats:// URL without --tlsca to connect in the clear)"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or text
        return (
            f"TLS: the server's certificate is not trusted ({why}); give the CA "
            "that signed it (--tlsca, NATS_CA, ca=)"
        )
    if isinstance(exc, ssl.SSLError):
        if "certificate required" in text or "certificate_required" in text:
            return (
                "TLS: the server requires a client certificate "
                "(--tlscert and --tlskey, or cert= and key=)"
            )
        return f"TLS handshake failed ({exc.reason or text})"
    if "authorization violation" in text or isinstance(
        exc, nats.errors.AuthorizationError
    ):
        return "authorization violation (wrong or unknown credentials)"
    if "authentication expired" in text or "authentication revoked" in text:
        return text.removeprefix("nats: ").strip("'")
    if "secure connection" in text or "tls required" in text:
        return "the server requires TLS: use a tls:// URL (and --tlsca)"
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return f"cannot read {exc.filename}: {exc.strerror}"
    return None


def _unreachable(exc: BaseException) -> str:
    text = _text(exc)
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text:
        return "connection refused (is nats-server running?)"
    if isinstance(exc, asyncio.TimeoutError) and not str(exc):
        return "timed out"
    if isinstance(exc, nats.errors.NoServersError):
        return "no server could be reached"
    return text


async def _close_quietly(nc: nats.aio.client.Client) -> None:
    # After a failed TLS handshake nats-py's close() waits forever for a socket
    # asyncio already closed (the stream's close waiter is never resolved):
    # give it a moment, no more.
    try:
        await asyncio.wait_for(nc.close(), _CLOSE_WAIT)
    except (Exception, asyncio.TimeoutError):  # a half-made connection: nothing to save
        return


_CLOSE_WAIT = 0.5


# -- resolving -----------------------------------------------------------------


def resolve(
    servers: str | Sequence[str] | None = None,
    *,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
    **given: Any,
) -> Settings:
    """Settings from explicit values, then ``env`` (default: ``os.environ``), then
    the context (``context``, else ``$NATS_CONTEXT``, else the selected one).

    ``given`` holds the other settings by name (``user``, ``password``,
    ``token``, ``creds``, ``nkey``, ``cert``, ``key``, ``ca``, ``tls_first``,
    ``inbox_prefix``); None means "not given".
    """
    env = os.environ if env is None else env
    names = {f.name for f in fields(Settings)} - {"context", "explicit_servers"}
    unknown = set(given) - names
    if unknown:
        raise TypeError(f"unknown connection setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if servers is not None:
        values["servers"] = servers
    for name, variable in ENVIRONMENT.items():
        if name not in values and env.get(variable):
            values[name] = env[variable]
    context_name = context or env.get("NATS_CONTEXT") or None
    found = _load_context(context_name, env)
    if found is not None:
        context_name, data = found
        for name, key in _CONTEXT_KEYS.items():
            value = data.get(key)
            if name not in values and value not in (None, "", False):
                values[name] = value
    explicit = "servers" in values
    urls = _split(values.pop("servers", DEFAULT_URL))
    for name in ("creds", "nkey", "cert", "key", "ca"):
        if isinstance(values.get(name), str) and values[name].startswith("~"):
            values[name] = str(Path(values[name]).expanduser())
    settings = Settings(
        servers=tuple(urls) or (DEFAULT_URL,),
        context=context_name if found is not None else None,
        explicit_servers=explicit,
    )
    typed: dict[str, Any] = {
        k: (bool(v) if k == "tls_first" else str(v)) for k, v in values.items()
    }
    return replace(settings, **typed)


def _split(servers: str | Sequence[str]) -> list[str]:
    items = servers.split(",") if isinstance(servers, str) else list(servers)
    return [s.strip() for s in items if s and s.strip()]


def context_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/nats`` or ``~/.config/nats``: where the ``nats`` CLI keeps contexts."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME")
    if base:
        return Path(base) / "nats"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".config" / "nats"


def _load_context(
    name: str | None, env: Mapping[str, str]
) -> tuple[str, dict[str, Any]] | None:
    """The named (else the selected) context's name and content; None when none is."""
    folder = context_dir(env)
    if name is None:
        try:
            name = (folder / "context.txt").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not name:
            return None
    if name.endswith(".json") and ("/" in name or os.sep in name):
        path = Path(name).expanduser()  # a context file given by path
    else:
        if "/" in name or os.sep in name or name.startswith(".") or not name:
            raise ConnectionError(f"{name!r} is not a NATS context name")
        path = folder / "context" / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConnectionError(
            f"no NATS context named {name!r} (looked for {path}; "
            "create it with: nats context add)"
        ) from None
    except OSError as exc:
        raise ConnectionError(
            f"cannot read NATS context {path}: {exc.strerror}"
        ) from None
    except ValueError:
        raise ConnectionError(f"NATS context {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConnectionError(f"NATS context {path} is not a JSON object")
    if data.get("nsc") and not data.get("creds"):
        raise ConnectionError(
            f"NATS context {path} uses nsc, which autonats does not run: "
            "set creds to the user's credentials file"
        )
    return name, data


# -- files ---------------------------------------------------------------------


def _read_source(kind: str, source: str) -> tuple[Path | None, str]:
    """A creds or nkey source: a path, ``file://``, ``env://NAME`` or ``data:`` URI.

    Returns the file (None for inline material) and the text.
    """
    if source.startswith("env://"):
        variable = source.removeprefix("env://")
        value = os.environ.get(variable)
        if not value:
            raise ConnectionError(
                f"{kind} env://{variable}: the variable is not set or empty"
            )
        return None, value
    if source.startswith("data:"):
        meta, comma, payload = source.partition(",")
        if not comma:
            raise ConnectionError(f"{kind}: a data: URI needs a comma before its data")
        if meta.endswith(";base64"):
            try:
                return None, base64.b64decode(payload, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ConnectionError(
                    f"{kind}: the data: URI is not valid base64"
                ) from None
        return None, payload
    if "://" in source and not source.startswith("file://"):
        scheme = source.split("://", 1)[0]
        raise ConnectionError(
            f"{kind}: {scheme}:// credentials are not supported by autonats; "
            "use a file path, env://NAME or a data: URI"
        )
    path = Path(source.removeprefix("file://")).expanduser()
    try:
        return path, path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConnectionError(f"{kind} file {path}: no such file") from None
    except IsADirectoryError:
        raise ConnectionError(f"{kind} file {path}: is a folder, not a file") from None
    except PermissionError:
        raise ConnectionError(f"{kind} file {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConnectionError(
            f"{kind} file {path}: cannot be read ({type(exc).__name__})"
        ) from None


def _check_seed(kind: str, where: str, seed: str) -> None:
    try:
        import nkeys
    except ImportError:
        raise ConnectionError(
            f"{kind} authentication needs the nkeys package: "
            "pip install 'autonats[nkeys]'"
        ) from None
    raw = bytearray(seed.strip().encode())
    try:
        keys = nkeys.from_seed(raw)
    except Exception:  # nkeys raises its own, undocumented errors
        raise ConnectionError(
            f"{kind} {where} does not hold a valid nkey seed"
        ) from None
    keys.wipe()


def _creds(source: str) -> str | nats.aio.client.RawCredentials:
    path, text = _read_source("creds", source)
    where = f"file {path}" if path is not None else "(inline)"
    if "BEGIN NATS USER JWT" not in text or "BEGIN USER NKEY SEED" not in text:
        raise ConnectionError(
            f"creds {where} is not a NATS credentials file (no user JWT and "
            "seed blocks; nsc generate creds writes one)"
        )
    seed = text.split("BEGIN USER NKEY SEED", 1)[1].splitlines()[1:2]
    _check_seed("creds", where, seed[0] if seed else "")
    # A path is read again at every (re)connect, so rotating the file just works.
    return str(path) if path is not None else nats.aio.client.RawCredentials(text)


def _nkey(source: str) -> tuple[str | None, str]:
    path, text = _read_source("nkey", source)
    where = f"file {path}" if path is not None else "(inline)"
    _check_seed("nkey", where, text)
    return (str(path), "") if path is not None else (None, text.strip())


def _no_passphrase() -> bytes:
    raise ConnectionError("encrypted TLS keys are not supported: decrypt the key file")


def _tls_context(
    cert: str | None, key: str | None, ca: str | None
) -> ssl.SSLContext | None:
    if not (cert or key or ca):
        return None
    if bool(cert) != bool(key):
        raise ConnectionError(
            "a client certificate needs both --tlscert and --tlskey (cert and key)"
        )
    for kind, path in (("TLS CA", ca), ("TLS certificate", cert), ("TLS key", key)):
        if path and not Path(path).is_file():
            raise ConnectionError(f"{kind} file {path}: no such file")
    try:
        context = ssl.create_default_context(cafile=ca or None)
    except (ssl.SSLError, OSError) as exc:
        raise ConnectionError(
            f"TLS CA file {ca}: not a PEM certificate ({_text(exc)})"
        ) from None
    if cert and key:
        try:
            context.load_cert_chain(cert, key, password=_no_passphrase)
        except ConnectionError:
            raise
        except (ssl.SSLError, OSError) as exc:
            raise ConnectionError(
                f"TLS certificate {cert} / key {key}: cannot be loaded "
                f"({getattr(exc, 'reason', None) or type(exc).__name__})"
            ) from None
    return context


# -- secrets and noise -----------------------------------------------------------


def redact_url(url: str) -> str:
    """``url`` without its secrets: ``nats://alice:***@host:4222``, ``nats://***@host``
    (a user alone in a URL is a token)."""
    try:
        parts = urlsplit(url if "://" in url else f"nats://{url}")
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


class _TlsEofFilter(logging.Filter):
    """Drops asyncio's "returning true from eof_received() has no effect when using ssl".

    nats-py upgrades a connection to TLS with ``loop.start_tls`` and a fresh
    ``StreamReaderProtocol`` whose ``connection_made`` is never called, so the
    protocol never learns it runs over TLS and answers EOF as if it could
    half-close; asyncio then logs that warning each time a TLS connection
    ends (nats-io/nats.py#574). Nothing is wrong, so nothing is said.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            isinstance(record.msg, str)
            and record.msg.startswith("returning true from eof_received()")
        )


_TLS_EOF_FILTER = _TlsEofFilter()


def quiet_tls_eof() -> None:
    """Install :class:`_TlsEofFilter` on asyncio's logger (once)."""
    logger = logging.getLogger("asyncio")
    if _TLS_EOF_FILTER not in logger.filters:
        logger.addFilter(_TLS_EOF_FILTER)


# -- the library's entry point ----------------------------------------------------


async def connect(
    servers: str | Sequence[str] | None = None,
    *,
    context: str | None = None,
    **options: Any,
) -> nats.aio.client.Client:
    """Connect to NATS as the ``nats`` CLI would; returns a plain nats-py client.

    ``servers`` (a URL, comma-separated URLs or a list), ``context`` (a NATS
    context name) and the settings ``user``, ``password``, ``token``,
    ``creds``, ``nkey``, ``cert``, ``key``, ``ca``, ``tls_first``,
    ``inbox_prefix`` override ``$NATS_URL`` and the other ``nats`` CLI
    environment variables, which override the context (``context``, else
    ``$NATS_CONTEXT``, else the one ``nats context select`` chose). Every
    other keyword goes to ``nats.connect`` unchanged (``name``, ``error_cb``,
    ``max_reconnect_attempts``...).

    Raises :class:`~autonats.ConnectionError` with one line (which file,
    which server; never a secret) when a file is missing or invalid, the
    server refuses the credentials or the TLS handshake fails, or no server
    can be reached.

    ::

        nc = await autonats.connect()  # $NATS_URL, $NATS_CREDS..., or the context
        nc = await autonats.connect("tls://nats.internal:4222", creds="svc.creds", ca="ca.pem")
    """
    names = {f.name for f in fields(Settings)} - {"context", "explicit_servers"}
    given = {k: options.pop(k) for k in list(options) if k in names}
    settings = resolve(servers, context=context, **given)
    return await settings.connect(**options)
