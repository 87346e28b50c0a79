"""Sign-in attempts limited per client address and user id (the `limits` library)."""

from __future__ import annotations

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from application.errors import ApplicationError


class TooManyAttemptsError(ApplicationError):
    """Too many failed sign-ins: wait a minute."""

    code = "too_many_attempts"


class LoginLimiter:
    """Counts failed sign-ins in a moving one-minute window."""

    def __init__(self, per_minute: int) -> None:
        self.limit = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str, user_id: str) -> None:
        """Refuse when the window is full."""
        if not self.limiter.test(self.limit, client, user_id):
            msg = "Too many failed sign-ins; wait a minute and try again."
            raise TooManyAttemptsError(msg)

    def failed(self, client: str, user_id: str) -> None:
        """Count a failed attempt."""
        self.limiter.hit(self.limit, client, user_id)
