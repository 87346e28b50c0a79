"""Rendering pages and their htmx fragments from one set of Jinja2 templates.

A fragment template (leading underscore) is included by its page; an htmx request for the same
route gets the fragment alone, a plain request the whole page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from application.personal_data import TEXT_OPENER, TEXT_TOKEN
from interfaces.web.labels import (
    EVENT_LABELS,
    SCOPE_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    stage_tag_colour,
)
from interfaces.web.periods import period_label

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y %H:%M} UTC"


def _number(value: float | None, places: int = 2) -> str:
    if value is None:
        return ""
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


TEMPLATES.env.filters.update(
    day=_day,
    moment=_moment,
    number=_number,
    stage=lambda s: STAGE_LABELS.get(str(s), str(s)),
    stage_colour=stage_tag_colour,
    event=lambda e: EVENT_LABELS.get(str(e), str(e)),
    sector=lambda s: SECTOR_LABELS.get(str(s), str(s)),
    status=lambda s: STATUS_LABELS.get(str(s), str(s)),
    scope=lambda s: SCOPE_LABELS.get(str(s), str(s)),
    period=period_label,
)
TEMPLATES.env.globals.update(STAGE_LABELS=STAGE_LABELS, EVENT_LABELS=EVENT_LABELS)


def _opened(value: Any) -> Any:
    """Free text sealed under fellows' keys, opened as it is written into a page.

    The views hold it sealed (``application.named_people``); the request's opener gives the
    text, or ``[erased]``. Inside already-escaped markup (``tojson``) the text is escaped.
    """
    opener = TEXT_OPENER.get()
    if opener is None or not isinstance(value, str) or "[sealed:" not in value:
        return value
    if isinstance(value, Markup):
        return Markup(TEXT_TOKEN.sub(lambda m: str(escape(opener(m.group(0)))), value))
    return opener(value)


TEMPLATES.env.finalize = _opened


def is_htmx(request: Request) -> bool:
    """Whether htmx asked for a fragment.

    Boosted navigations and history restores (Back to a page htmx no longer has cached) want
    whole pages.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def csrf_token(request: Request) -> str:
    """The CSRF token that asgi-csrf expects back in a form's ``csrftoken`` field."""
    make = request.scope.get("csrftoken")
    return str(make()) if callable(make) else ""


def render(
    request: Request,
    page: str,
    context: Mapping[str, Any],
    *,
    fragment: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page, or only its fragment when htmx asked for it."""
    template = fragment if fragment and is_htmx(request) else page
    full = {
        "user": getattr(request.state, "web_user", None),
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        **context,
    }
    response: HTMLResponse = TEMPLATES.TemplateResponse(
        request, template, full, status_code=status_code
    )
    response.headers["Vary"] = "HX-Request"
    return response
