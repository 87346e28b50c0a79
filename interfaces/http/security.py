"""Security headers on every response, and CSRF protection for cookie sessions (asgi-csrf)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgi_csrf import asgi_csrf
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp

from application.settings import Settings
from interfaces.web.templating import TEMPLATES

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# htmx and the NHS.UK frontend are served from our own origin; no inline script is needed.
# The NHS font (Frutiger) is licensed to NHS services from assets.nhs.uk, as the NHS CSS asks.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' https://assets.nhs.uk; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


class SecurityHeaders:
    """nosniff, frame denial, referrer policy, a CSP, and HSTS when served over TLS.

    A plain ASGI middleware that adds headers as the response starts: Starlette's
    ``BaseHTTPMiddleware`` ran every request in a separate task and streamed every body
    through a memory channel (a measurable share of a cheap request, and in the way of the
    live-update event streams).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers the response does not set itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = list(_ALWAYS)
        if not str(scope.get("path", "")).startswith(DOCS_PATHS):
            wanted.append(("Content-Security-Policy", CSP))
        if scope.get("scheme") == "https":
            wanted.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


def _csrf_page() -> bytes:
    """The web pages' answer: an NHS page saying what to do, not JSON."""
    page = TEMPLATES.get_template("error.html").render(
        title="Your form had expired",
        detail="Nothing was recorded. Go back, reload the page and send the form again.",
        user=None,
        csrf_token="",
        path="",
    )
    return page.encode()


async def _csrf_failed(scope: Scope, send: Send, _reason: object) -> None:
    if str(scope.get("path", "")).startswith("/api"):
        content_type = b"application/json"
        body = json.dumps(
            {
                "error": "csrf",
                "detail": "This request came with a session cookie but without the CSRF token: "
                "send the csrftoken cookie's value in an X-CSRFToken header (or a csrftoken "
                "field).",
            }
        ).encode()
    else:
        content_type, body = b"text/html; charset=utf-8", _csrf_page()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", CSP.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def csrf_secret(settings: Settings) -> str:
    """The secret that signs CSRF tokens: the setting, or one kept in the data directory.

    Keeping it on disk means forms stay valid across restarts and every process of one
    deployment agrees; production requires IMPACT_SECRET_KEY instead.
    """
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret-key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place: a process racing this one
    # either links its own first or reads a complete secret, never an empty, half-written one.
    handle, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):  # another process of this deployment won
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return path.read_text(encoding="ascii").strip()


def protect_from_csrf(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Double-submit-cookie CSRF checks on unsafe requests that carry cookies.

    Requests with a bearer token, or with no cookies at all, are not cookie-authenticated and
    pass; a browser session must echo the ``csrftoken`` cookie in ``X-CSRFToken`` (htmx) or a
    ``csrftoken`` form field (plain forms).  Signing in is always protected, cookies or not,
    so that another site cannot sign a visitor in to an account of its choosing.
    """
    wrapped: ASGIApp = asgi_csrf(
        app,
        signing_secret=csrf_secret(settings),
        always_protect={"/sign-in"},
        always_set_cookie=True,
        send_csrf_failed=_csrf_failed,
    )

    @functools.wraps(app)  # as asgi-csrf's own wrapper: the app's attributes (its state) show
    async def protected(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _bearer_api_call(scope):
            await app(scope, receive, send)
        else:
            await wrapped(scope, receive, send)

    return protected


def _bearer_api_call(scope: Scope) -> bool:
    """An API request with an ``Authorization`` header and no cookies: nothing to forge.

    A browser adds cookies to a forged request on its own, never an ``Authorization`` header,
    so such a request is not one CSRF protection is for. It skips the middleware, which would
    otherwise make and sign a token for it and answer with a ``csrftoken`` cookie no API client
    asked for. Any request with a cookie, and every web page, still goes through it.
    """
    if not scope["path"].startswith("/api/"):
        return False
    names = {name for name, _ in scope["headers"]}
    return b"authorization" in names and b"cookie" not in names
