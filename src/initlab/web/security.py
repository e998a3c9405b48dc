"""The playground answers its own page only: a Host check, an origin check and a token.

The playground trains on the user's machine and keeps the files they upload, so no other web
page may drive it. A browser lets any page send a "simple" request (a form POST, a ``fetch``
with ``mode: "no-cors"``) to ``127.0.0.1`` without asking; and a page whose domain the
attacker re-points at ``127.0.0.1`` (DNS rebinding) is even same-origin with the server. So
:class:`Guard`, an ASGI middleware in front of the whole application, checks every request:

1. **Host** (every request): the ``Host`` header must name an address this server answers
   on — ``127.0.0.1``, ``localhost``, ``[::1]``, the ``--host`` given, or the address the
   connection arrived at — with the port it listens on; otherwise ``421``. A rebinding page
   sends its own domain as the Host, so it never gets past this, not even to read the page.
2. **Origin** (state-changing requests: POST, PUT, PATCH, DELETE): an ``Origin`` header, when
   present, must be this server's own (``http://`` + the Host); a ``Sec-Fetch-Site`` of
   ``cross-site`` or ``same-site`` (another port of 127.0.0.1 is "same-site") is refused; ``403``.
3. **Token** (state-changing requests): the ``X-Initlab-Token`` header must carry the secret
   drawn when the server started, which the page reads from a ``<meta>`` tag of ``/`` — a page
   of another origin cannot read it, and cannot send a custom header without a CORS preflight
   that this server never grants; ``403``.

Every response, errors included, carries :data:`SECURITY_HEADERS`: a content security policy
that lets the page load its own scripts, styles and images only and be framed by nobody,
``nosniff``, ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``. Refusals are
JSON ``{"error": message}`` naming the header and its value, before the body is read.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "X-Initlab-Token"
"""The request header that carries the server's token."""

TOKEN_META = "initlab-token"
"""The ``<meta name=…>`` of the page that holds the token (``content``)."""

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that create, change or delete something: they need the origin and the token."""

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""Names of this machine a local page may use, whatever ``--host`` says."""

REFUSED_FETCH_SITES = frozenset({"cross-site", "same-site"})
"""``Sec-Fetch-Site`` values of a request started by another site's page (``same-site``
includes another port of the same host: another local server's page)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # the page's empty icon is a data: URL
        "connect-src 'self' blob:",  # the exports, which the page makes into blob: URLs
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
"""The page's own files only: the canvases are drawn by script (no image URLs), downloads
are ``blob:`` links (navigations, which the policy does not govern), and no inline script or
style is used."""

DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
"""``/api/docs`` only: FastAPI's Swagger page is an inline script loading its viewer from a
CDN. It holds no token, so it can read the API but change nothing."""

SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
)
"""Sent with every response, beside the content security policy."""

DOCS_PATH = "/api/docs"


def response_headers() -> dict[str, str]:
    """The headers :class:`Guard` adds, for a response made outside it (a crash's 500)."""
    return {"content-security-policy": CONTENT_SECURITY_POLICY, **dict(SECURITY_HEADERS)}


def new_token() -> str:
    """A fresh secret: 32 random bytes, URL-safe base64 (what ``secrets`` recommends)."""
    return secrets.token_urlsafe(32)


def split_host(value: str) -> tuple[str, int | None]:
    """``("localhost", 8000)`` from ``"LocalHost:8000"``; ``("::1", 80)`` from
    ``"[::1]:80"``; the port is ``None`` where the value has none, ``-1`` where it is not a
    number. Names are lower-cased, a trailing dot dropped.

    >>> split_host("[::1]:8000"), split_host("Example.org."), split_host("a:b")
    (('::1', 8000), ('example.org', None), ('a', -1))
    """
    value = value.strip()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else None
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    else:
        name, port_text = value, None
    port = None if port_text is None else (int(port_text) if port_text.isdigit() else -1)
    return name.lower().rstrip("."), port


def _display(name: str, port: int | None) -> str:
    shown = f"[{name}]" if ":" in name else name
    return shown if port is None else f"{shown}:{port}"


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: its HTTP status and the message."""

    status: int
    message: str


class Guard:
    """ASGI middleware: the Host, origin and token checks, and the security headers.

    ``token`` is the secret the page holds; ``hosts`` are names besides the loopback ones the
    server answers to (``--host``); ``port`` is the port it listens on — ``None``: the port
    of the socket each connection arrived on (the ASGI ``server`` of the request), which is
    the real one even when the server was started on port 0.
    """

    def __init__(
        self, app: ASGIApp, token: str, hosts: Iterable[str] = (), port: int | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.names = frozenset(split_host(h)[0] for h in (*LOOPBACK_NAMES, *hosts) if h)
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.check_host(scope, headers)
        if refusal is None and scope["method"] in STATE_CHANGING:
            refusal = self.check_origin(scope, headers) or self.check_token(headers)
        policy = DOCS_CONTENT_SECURITY_POLICY if scope["path"] == DOCS_PATH else None
        secured = _with_headers(send, policy or CONTENT_SECURITY_POLICY)
        if refusal is not None:
            await _refuse(refusal, secured)
            return
        await self.app(scope, receive, secured)

    # -- the checks ----------------------------------------------------------------------------

    def served(self, scope: Scope) -> tuple[frozenset[str], int | None]:
        """The names and the port this connection may address: the configured names plus
        the local address it arrived at, and the configured port or that socket's."""
        server = scope.get("server")
        names, port = self.names, self.port
        if server:
            names = names | {split_host(str(server[0]))[0]}
            if port is None and server[1] is not None:
                port = int(server[1])
        return names, port

    def check_host(self, scope: Scope, headers: dict[str, str]) -> Refusal | None:
        """``None`` if the Host header names this server (name and port), else a 421."""
        names, port = self.served(scope)
        value = headers.get("host")
        answers = ", ".join(_display(n, port) for n in sorted(names))
        if not value:
            return Refusal(400, f"The request has no Host header; this server answers {answers}")
        name, given = split_host(value)
        default = 443 if scope.get("scheme") == "https" else 80
        if name in names and (port is None or (given if given is not None else default) == port):
            return None
        return Refusal(
            421,
            f"Host {value!r} is not this server: it answers {answers} only (a page that "
            "reaches it under another name, as DNS rebinding does, is refused)",
        )

    def check_origin(self, scope: Scope, headers: dict[str, str]) -> Refusal | None:
        """``None`` unless the request comes from another origin's page (403): the Origin
        is checked first, as it names that page."""
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '').lower()}"
        if origin is not None and origin.lower().rstrip("/") != own:
            return Refusal(
                403,
                f"Origin {origin!r} is not this server's ({own}): another page may not change "
                "anything here; use the playground's own page",
            )
        site = headers.get("sec-fetch-site", "").lower()
        if site in REFUSED_FETCH_SITES:
            return Refusal(
                403,
                f"Sec-Fetch-Site {site!r}: another site's page may not change anything here; "
                "use the playground's own page",
            )
        return None

    def check_token(self, headers: dict[str, str]) -> Refusal | None:
        """``None`` if the request carries the server's token, else a 403."""
        given = headers.get(TOKEN_HEADER.lower())
        where = (
            f"the playground's page holds it in <meta name={TOKEN_META!r}>; requests that "
            "change something must send it"
        )
        if given is None:
            return Refusal(403, f"The {TOKEN_HEADER} header is missing: {where}")
        if not secrets.compare_digest(given.encode("latin-1"), self.token.encode("latin-1")):
            shown = given if len(given) <= 48 else given[:45] + "…"
            return Refusal(
                403,
                f"The {TOKEN_HEADER} header {shown!r} is not this server's token (a new one "
                f"is drawn at every start: reload the page): {where}",
            )
        return None


def _with_headers(send: Send, policy: str) -> Send:
    """``send`` adding the content security policy and :data:`SECURITY_HEADERS` to the
    response's headers (replacing any of them the application set)."""
    added = [("content-security-policy", policy), *SECURITY_HEADERS]
    names = {name.encode() for name, _ in added}

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            extra = [(k.encode(), v.encode()) for k, v in added]
            message = {**message, "headers": kept + extra}
        await send(message)

    return secured


async def _refuse(refusal: Refusal, send: Send) -> None:
    body = json.dumps({"error": refusal.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
