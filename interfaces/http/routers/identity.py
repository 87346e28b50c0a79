"""Signing in and out (web sessions), who I am, and user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from application.access import require_admin
from application.errors import ApplicationError
from application.identity.service import IdentityError, NewUser, User
from interfaces.http.deps import SESSION_COOKIE, AppServices, CurrentUser, UnauthenticatedError
from interfaces.http.ratelimit import LoginLimiter
from interfaces.http.schemas import Me, SignIn

router = APIRouter(prefix="/api", tags=["identity"])


class UserExistsError(ApplicationError):
    """A user id that is already taken."""

    code = "user_exists"


def _me(user: User) -> Me:
    return Me(
        user_id=user.user_id,
        display_name=user.display_name,
        role=user.role,
        fellow_id=user.fellow_id,
        organisation_ids=user.organisation_ids,
    )


@router.post("/session")
def sign_in(body: SignIn, request: Request, response: Response, svc: AppServices) -> Me:
    """Sign in with a password: a new session cookie (HttpOnly, SameSite=Lax)."""
    limiter: LoginLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    limiter.check(client, body.user_id)
    user = svc.identity.check_password(body.user_id, body.password)
    if user is None:
        limiter.failed(client, body.user_id)
        msg = "That user id and password don't match an account."
        raise UnauthenticatedError(msg)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        svc.identity.end_session(old)
    response.set_cookie(
        SESSION_COOKIE,
        svc.identity.start_session(user.user_id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
        max_age=14 * 24 * 3600,
    )
    return _me(user)


@router.delete("/session", status_code=204)
def sign_out(request: Request, svc: AppServices) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        svc.identity.end_session(session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me")
def me(user: CurrentUser) -> Me:
    """The signed-in user."""
    return _me(user)


@router.get("/users")
def users(user: CurrentUser, svc: AppServices) -> list[Me]:
    """Every account (admins)."""
    require_admin(user)
    return [_me(u) for u in svc.identity.list_users()]


@router.post("/users", status_code=201)
def create_user(body: NewUser, user: CurrentUser, svc: AppServices) -> Me:
    """Create an account (admins)."""
    require_admin(user)
    try:
        return _me(svc.identity.create_user(body))
    except IdentityError as e:
        raise UserExistsError(str(e), field="user_id") from None
