"""Who is using a page: the session cookie's user, remembered for the templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from application.identity.service import User
from interfaces.http.deps import SESSION_COOKIE, AppServices, current_user


def page_user(request: Request, user: Annotated[User, Depends(current_user)]) -> User:
    """The signed-in user (a page without one redirects to sign-in)."""
    request.state.web_user = user
    return user


def optional_user(request: Request, svc: AppServices) -> User | None:
    """The signed-in user, or None on pages open to everyone."""
    session = request.cookies.get(SESSION_COOKIE)
    user = svc.identity.user_for_session(session) if session else None
    request.state.web_user = user
    return user


PageUser = Annotated[User, Depends(page_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]
