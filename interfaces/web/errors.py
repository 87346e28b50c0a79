"""Refusals on web pages: a sign-in redirect, or an NHS-styled page that says what happened."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from interfaces.web.templating import render

_TITLES = {
    403: "You can't do that",
    404: "Page not found",
    409: "That change was refused",
    412: "Someone changed this first",
    422: "Check what you entered",
    429: "Too many attempts",
    503: "Try again shortly",
}


def wants_html(request: Request) -> bool:
    """Pages (not the JSON API, not its docs) answer refusals in HTML."""
    path = request.url.path
    return not path.startswith(("/api", "/docs", "/redoc", "/openapi.json"))


def html_refusal(request: Request, status: int, detail: str) -> Response:
    """Sign-in for 401; otherwise a page with the reason and a way back."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
    return render(
        request,
        "error.html",
        {"status": status, "title": _TITLES.get(status, "Something went wrong"), "detail": detail},
        status_code=status,
    )
