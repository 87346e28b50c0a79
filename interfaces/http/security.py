"""Security headers on every response, and CSRF protection for cookie sessions (asgi-csrf)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgi_csrf import asgi_csrf
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from application.settings import Settings

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# htmx and the NHS.UK frontend are served from our own origin; no inline script is needed.
# The NHS font (Frutiger) is licensed to NHS services from assets.nhs.uk, as the NHS CSS asks.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' https://assets.nhs.uk; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


class SecurityHeaders(BaseHTTPMiddleware):
    """nosniff, frame denial, referrer policy, a CSP, and HSTS when served over TLS."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Add the headers to the response."""
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(DOCS_PATHS):
            response.headers.setdefault("Content-Security-Policy", CSP)
        if request.url.scheme == "https":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        return response


async def _csrf_failed(_scope: Scope, send: Send, _reason: object) -> None:
    body = json.dumps(
        {
            "error": "csrf",
            "detail": "This request came with a session cookie but without the CSRF token: send "
            "the csrftoken cookie's value in an X-CSRFToken header (or a csrftoken field).",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def protect_from_csrf(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Double-submit-cookie CSRF checks on unsafe requests that carry cookies.

    Requests with a bearer token, or with no cookies at all, are not cookie-authenticated and
    pass; a browser session must echo the ``csrftoken`` cookie in ``X-CSRFToken`` (htmx) or a
    ``csrftoken`` form field (plain forms).
    """
    secret = (
        settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(48)
    )
    wrapped: ASGIApp = asgi_csrf(
        app, signing_secret=secret, always_set_cookie=True, send_csrf_failed=_csrf_failed
    )
    return wrapped
