"""One place that turns refusals into HTTP responses with a JSON body a person can read."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from application.access import AccessDeniedError
from application.errors import (
    ApplicationError,
    ConcurrentWriteError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    NotFoundError,
    StaleVersionError,
    UnknownReferenceError,
)
from domain.errors import DomainError
from domain.spc import SPCInputError
from interfaces.http.deps import UnauthenticatedError, ViewsBehindError
from interfaces.http.ratelimit import TooManyAttemptsError
from interfaces.http.routers.identity import UserExistsError
from interfaces.web.errors import html_refusal, wants_html

_STATUS: list[tuple[type[Exception], int]] = [
    (UnauthenticatedError, 401),
    (AccessDeniedError, 403),
    (NotFoundError, 404),
    (UserExistsError, 409),
    (TooManyAttemptsError, 429),
    (ViewsBehindError, 503),
    (StaleVersionError, 412),
    (ConcurrentWriteError, 409),
    (UnknownReferenceError, 422),
    (IdempotencyKeyReusedError, 422),
    (InvalidRequestError, 422),
    (ApplicationError, 400),
]


def _body(code: str, detail: str, field: str | None) -> dict[str, str]:
    body = {"error": code, "detail": detail}
    if field:
        body["field"] = field
    return body


def _refusal(
    request: Request,
    status: int,
    code: str,
    detail: str,
    field: str | None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """JSON for the API; for web pages, a page (or a sign-in redirect)."""
    if wants_html(request):
        return html_refusal(request, status, detail)
    return JSONResponse(_body(code, detail, field), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, application and validation errors to 4xx responses."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return _refusal(request, 409, exc.rule, exc.message, exc.field)

    @app.exception_handler(ApplicationError)
    async def _application(request: Request, exc: ApplicationError) -> Response:
        status = next(code for cls, code in _STATUS if isinstance(exc, cls))
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return _refusal(request, status, exc.code, exc.message, exc.field, headers=headers)

    @app.exception_handler(SPCInputError)
    async def _spc(request: Request, exc: SPCInputError) -> Response:
        return _refusal(request, 422, "unchartable_series", str(exc), "points")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
        detail = "There is nothing at this address." if exc.status_code == 404 else str(exc.detail)
        return _refusal(request, exc.status_code, code, detail, None, headers=exc.headers)

    @app.exception_handler(ValidationError)
    async def _command(request: Request, exc: ValidationError) -> Response:
        # A command built inside a handler (from path ids and a body) can still break one of
        # the command's own rules, e.g. a reason of spaces: that is the client's input, a 422.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "Invalid input."}
        field = ".".join(str(part) for part in first["loc"])
        detail = f"{field}: {first['msg']}" if field else str(first["msg"])
        return _refusal(request, 422, "validation_error", detail, field or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "Invalid input."}
        field = ".".join(
            str(part) for part in first["loc"] if part not in {"body", "query", "path"}
        )
        detail = f"{field}: {first['msg']}" if field else str(first["msg"])
        return _refusal(request, 422, "validation_error", detail, field or None)
