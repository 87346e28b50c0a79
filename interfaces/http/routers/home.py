"""The front door: what is here, until the web pages (htmx) arrive."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from application.demo.accounts import DEMO_PASSWORD
from interfaces.http.deps import AppServices

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Impact tracker</title></head>
<body><main>
<h1>Impact tracker</h1>
<p>An event-sourced record of system change projects: what fellows logged, when, and what it
achieved. {events} events are recorded.</p>
<ul>
<li><a href="/docs">The JSON API</a> (OpenAPI: <a href="/openapi.json">/openapi.json</a>)</li>
<li><a href="/api/health">Health</a> and <a href="/api/ready">readiness</a></li>
</ul>
{demo}
</main></body></html>
"""


@router.get("/", response_class=HTMLResponse)
def home(svc: AppServices) -> str:
    """A plain page saying what is here; demo accounts only while the demo is loaded."""
    demo = ""
    accounts = [u for u in svc.identity.list_users() if u.user_id.startswith("demo-")]
    if accounts:
        items = "".join(f"<li>{escape(u.user_id)} ({escape(u.role.value)})</li>" for u in accounts)
        demo = (
            f"<h2>Demo accounts</h2><p>Password <code>{escape(DEMO_PASSWORD)}</code>; "
            f"sign in with <code>POST /api/session</code>.</p><ul>{items}</ul>"
        )
    return PAGE.format(events=svc.tracker.head(), demo=demo)
