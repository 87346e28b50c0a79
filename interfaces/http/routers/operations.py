"""Liveness and readiness, for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.deps import AppServices
from interfaces.http.schemas import Health, Readiness, ViewLag

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/health")
def health() -> Health:
    """Liveness: the process is up and answering."""
    return Health(status="ok")


@router.get("/ready", responses={503: {"model": Readiness}})
def ready(svc: AppServices) -> Readiness:
    """Readiness: the event store answers; each view's lag behind the log."""
    try:
        statuses = svc.read_side.runner.status()
    except Exception:  # any store or view database failure means "not ready"
        body = Readiness(status="unavailable", head=0, views=[])
        return JSONResponse(body.model_dump(), status_code=503)  # type: ignore[return-value]
    head = statuses[0].head if statuses else svc.tracker.head()
    return Readiness(
        status="ok",
        head=head,
        views=[ViewLag(view=s.view, position=s.position, lag=s.lag) for s in statuses],
    )
