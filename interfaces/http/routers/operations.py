"""Liveness and readiness, for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from application.access import require_admin
from application.integrity.signing import load_signer
from interfaces.http.deps import AppServices, CurrentUser
from interfaces.http.schemas import CheckpointOut, Health, Readiness, ViewLag
from read_models.integrity.checkpoints import create_checkpoint, list_checkpoints

router = APIRouter(prefix="/api", tags=["operations"])


@router.get("/health")
async def health() -> Health:
    """Liveness: the process is up and answering.

    Answered on the event loop, never queued behind busy worker threads: a probe that waits
    for a slow export would have a healthy process restarted.
    """
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


@router.get("/integrity/checkpoints", tags=["integrity"])
def checkpoints(_: CurrentUser, svc: AppServices) -> list[CheckpointOut]:
    """Every signed checkpoint of the log (size, Merkle root, time, key, signature)."""
    return [
        CheckpointOut.model_validate(c.model_dump()) for c in list_checkpoints(svc.read_side.engine)
    ]


@router.post("/integrity/checkpoints", tags=["integrity"], status_code=201)
def sign_checkpoint(user: CurrentUser, svc: AppServices) -> CheckpointOut:
    """Sign a checkpoint of the log as the integrity view has it now (admins)."""
    require_admin(user)
    made = create_checkpoint(svc.read_side.engine, load_signer(svc.settings))
    return CheckpointOut.model_validate(made.model_dump())
