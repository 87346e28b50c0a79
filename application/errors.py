"""Refusals raised by the application service, beside the domain's business-rule errors.

Exception hierarchy::

    ApplicationError
    ├── NotFoundError              no aggregate of the asked kind has that id (or not at that time)
    ├── UnknownReferenceError      a command names a cohort, fellow... that doesn't exist
    ├── ConflictError              the command lost a race and recorded nothing
    │   ├── StaleVersionError      the caller saw an older version than the current one
    │   └── ConcurrentWriteError   another command wrote the same version first
    ├── IdempotencyKeyReusedError  a key already used for a different command
    └── InvalidRequestError        a query or key the tracker can't answer as given

Domain rule refusals are ``domain.errors.DomainError``; together they are everything an
interface has to turn into a 4xx.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A command or query the application refused; nothing was recorded."""

    code = "application_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ApplicationError):
    """No aggregate of the requested kind has that id."""

    code = "not_found"


class UnknownReferenceError(ApplicationError):
    """A command refers to something that doesn't exist."""

    code = "unknown_reference"


class ConflictError(ApplicationError):
    """The command conflicted with another write and recorded nothing."""

    code = "conflict"


class StaleVersionError(ConflictError):
    """The version the caller saw is no longer the current one."""

    code = "stale_version"


class ConcurrentWriteError(ConflictError):
    """Another command recorded the same version first."""

    code = "concurrent_write"


class IdempotencyKeyReusedError(ApplicationError):
    """An idempotency key sent again with a different command."""

    code = "idempotency_key_reused"


class InvalidRequestError(ApplicationError):
    """A query parameter or header that is malformed: no time zone, out of range, too long."""

    code = "invalid_request"
