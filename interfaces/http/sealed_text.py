"""Opening free text sealed under people's keys as the API and the pages send it.

The views hold free text that names fellows only sealed (``application.named_people``); what
a person reads must be the text, or ``[erased]`` once any of those fellows is erased. So each
request gets its tracker's opener (``OpenSealedText``), and the JSON responses
(``OpenedJSONResponse``) and the page templates (``interfaces.web.templating``) open what
they send with it, without every query having to reach the key store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from application.personal_data import TEXT_OPENER, TEXT_TOKEN


class OpenSealedText:
    """Set the request's text opener (its tracker's ``open_text``) for the responses."""

    def __init__(self, app: ASGIApp, opener: Callable[[], Callable[[str], str] | None]) -> None:
        self.app = app
        self.opener = opener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with the opener set (the lifespan has none to set)."""
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        token = TEXT_OPENER.set(self.opener())
        try:
            await self.app(scope, receive, send)
        finally:
            TEXT_OPENER.reset(token)


class OpenedJSONResponse(JSONResponse):
    """JSON with every sealed text in it opened for the reader."""

    def render(self, content: Any) -> bytes:
        """Encode as FastAPI's own JSON response does, then open the tokens in the bytes.

        Looking for tokens in the encoded bytes is one scan in C, where walking the content
        would visit every value in Python; nearly every response has none.
        """
        return open_json_bytes(super().render(content))


def open_json_bytes(body: bytes) -> bytes:
    """Open the sealed texts inside JSON composed elsewhere (a token sits in a JSON string)."""
    opener = TEXT_OPENER.get()
    if opener is None or b"[sealed:" not in body:
        return body
    text = body.decode()

    def opened(match: Any) -> str:
        return json.dumps(opener(match.group(0)), ensure_ascii=False)[1:-1]

    return TEXT_TOKEN.sub(opened, text).encode()
