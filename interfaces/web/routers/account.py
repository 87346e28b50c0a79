"""Signing in and out of the web pages, and each role's start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from application.demo.accounts import DEMO_PASSWORD
from domain.values import Role
from interfaces.http.deps import SESSION_COOKIE, AppServices
from interfaces.http.ratelimit import LoginLimiter, TooManyAttemptsError
from interfaces.web.choices import organisation_names
from interfaces.web.forms import FormErrors
from interfaces.web.session import MaybeUser
from interfaces.web.templating import render
from read_models.queries.common import PageParams
from read_models.queries.timeline import list_projects

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //elsewhere) may follow sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _demo_accounts(svc: AppServices) -> list[tuple[str, str]]:
    """The demo accounts to list on the front door: never in production.

    Their password is public, so a production deployment (IMPACT_ENVIRONMENT=production) never
    advertises them, even if someone loaded the demo into it.
    """
    if svc.settings.environment == "production":
        return []
    return [
        (u.user_id, u.role.value)
        for u in svc.identity.list_users()
        if u.user_id.startswith("demo-") and not u.disabled
    ]


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, svc: AppServices, next: str | None = None) -> Response:
    """The sign-in form."""
    request.state.web_user = None
    return render(
        request,
        "sign_in.html",
        {
            "values": {"next": _safe_next(next)},
            "errors": None,
            "demo": _demo_accounts(svc),
            "demo_password": DEMO_PASSWORD,
        },
    )


@router.post("/sign-in")
def sign_in(
    request: Request,
    svc: AppServices,
    user_id: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; a new session (the old one ends) and on to where they were going."""
    request.state.web_user = None
    errors = FormErrors()
    if not user_id.strip():
        errors.add("user_id", "Enter your user id")
    if not password:
        errors.add("password", "Enter your password")
    user = None
    if not errors:
        limiter: LoginLimiter = request.app.state.login_limiter
        client = request.client.host if request.client else "unknown"
        try:
            limiter.check(client, user_id)
            user = svc.identity.check_password(user_id.strip(), password)
            if user is None:
                limiter.failed(client, user_id)
                errors.add("user_id", "That user id and password don't match an account")
        except TooManyAttemptsError as e:
            errors.add("user_id", str(e))
    if user is None:
        return render(
            request,
            "sign_in.html",
            {
                "values": {"user_id": user_id, "next": _safe_next(next)},
                "errors": errors,
                "demo": _demo_accounts(svc),
                "demo_password": DEMO_PASSWORD,
            },
            status_code=401 if "match" in errors.by_field.get("user_id", "") else 422,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        svc.identity.end_session(old)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        svc.identity.start_session(user.user_id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
        max_age=14 * 24 * 3600,
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, svc: AppServices) -> Response:
    """End the session on the server and clear its cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        svc.identity.end_session(session)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def start(request: Request, svc: AppServices, user: MaybeUser) -> Response:
    """Each role's start page: my projects, sponsored projects, or the evaluator's routes."""
    if user is None:
        return render(
            request,
            "welcome.html",
            {
                "events": svc.tracker.head(),
                "demo": _demo_accounts(svc),
                "demo_password": DEMO_PASSWORD,
            },
        )
    engine = svc.read_side.engine
    mine = PageParams(page=1, per_page=100)
    projects = None
    if user.role is Role.FELLOW:
        projects = list_projects(engine, mine, fellow_id=user.fellow_id)
    elif user.role is Role.SPONSOR:
        projects = list_projects(engine, mine, sponsor_id=user.user_id)
    return render(
        request,
        "start.html",
        {
            "projects": projects,
            "org_names": organisation_names(engine),
            "events": svc.tracker.head(),
        },
    )
