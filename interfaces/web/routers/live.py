"""Live updates: a server-sent event whenever someone records an event on the open project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from application.access import AccessDeniedError
from application.identity.service import User
from application.results import ProjectView
from interfaces.http.deps import AppServices
from interfaces.http.reading import require_reader
from interfaces.web.session import PageUser

router = APIRouter(include_in_schema=False)

# A stream ends after this long; the browser's EventSource reconnects by itself.
STREAM_SECONDS = 300


def _may_read(user: User, project: ProjectView) -> bool:
    """Whether the user may still read the project, checked again before each announcement.

    Access can end while a stream is open (a sponsor is replaced, an organisation leaves the
    project); what was allowed when it opened is no licence to hear about later changes.
    """
    try:
        require_reader(user, project)
    except AccessDeniedError:
        return False
    return True


@router.get("/projects/{project_id}/live")
async def live(
    request: Request, project_id: UUID, user: PageUser, svc: AppServices
) -> StreamingResponse:
    """``event: changed`` each time the project's version moves on (htmx-ext-sse listens)."""
    project = await anyio.to_thread.run_sync(svc.tracker.project, project_id)
    require_reader(user, project)
    poll = svc.settings.live_poll_seconds

    async def events() -> AsyncIterator[str]:
        seen = project.version
        head = await anyio.to_thread.run_sync(svc.tracker.head)
        yield ": connected\n\n"
        waited = 0.0
        while waited < STREAM_SECONDS and not await request.is_disconnected():
            await anyio.sleep(poll)
            waited += poll
            # One cheap question per poll (has anything been recorded at all?); the project is
            # loaded only when the log has moved on.
            latest = await anyio.to_thread.run_sync(svc.tracker.head)
            if latest == head:
                continue
            head = latest
            now = await anyio.to_thread.run_sync(svc.tracker.project, project_id)
            if not _may_read(user, now):
                return  # taken off the project (a sponsor replaced): no word of its changes
            if now.version != seen:
                seen = now.version
                yield f"event: changed\ndata: {seen}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
