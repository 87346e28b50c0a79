"""Liveness and readiness, for load balancers and operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from application.access import require_admin
from application.errors import InvalidRequestError
from application.integrity.signing import Checkpoint, TrustedKeys, load_signer, trusted_keys
from interfaces.http.deps import AppServices, CurrentUser
from interfaces.http.schemas import CheckpointOut, Health, Readiness, ViewLag
from read_models.integrity.checkpoints import create_checkpoint, list_checkpoints
from read_models.integrity.proofs import ConsistencyProof, LogTooShortError, consistency_proof

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


def _out(checkpoint: Checkpoint, trusted: TrustedKeys) -> CheckpointOut:
    return CheckpointOut.model_validate(
        checkpoint.model_dump() | {"trusted": checkpoint.trust(trusted) is None}
    )


@router.get("/integrity/checkpoints", tags=["integrity"])
def checkpoints(_: CurrentUser, svc: AppServices) -> list[CheckpointOut]:
    """Every signed checkpoint of the log (size, Merkle root, time, key, signature, trusted)."""
    trusted = trusted_keys(svc.settings)
    return [_out(c, trusted) for c in list_checkpoints(svc.read_side.engine)]


@router.post("/integrity/checkpoints", tags=["integrity"], status_code=201)
def sign_checkpoint(user: CurrentUser, svc: AppServices) -> CheckpointOut:
    """Sign a checkpoint of the log as the integrity view has it now (admins)."""
    require_admin(user)
    made = create_checkpoint(svc.read_side.engine, load_signer(svc.settings))
    return _out(made, trusted_keys(svc.settings))


@router.get("/integrity/consistency", tags=["integrity"])
def consistency(
    _: CurrentUser,
    svc: AppServices,
    first: Annotated[
        int, Query(ge=0, le=2**62, description="The earlier checkpoint's size (events).")
    ],
    second: Annotated[
        int, Query(ge=0, le=2**62, description="The later checkpoint's size (events).")
    ],
) -> ConsistencyProof:
    """RFC 6962 consistency proof: the log's first ``first`` events are a prefix of ``second``.

    With two checkpoints one has kept, check the proof against their signed roots (RFC 9162,
    2.1.4.2): if it holds, the later one extends the earlier and nothing in between was
    rewritten. It is computed from the event store, as the inclusion proofs are.
    """
    if first > second:
        msg = f"first ({first}) must not be greater than second ({second})"
        raise InvalidRequestError(msg, field="first")
    try:
        return consistency_proof(svc.tracker, first, second)
    except LogTooShortError as e:
        raise InvalidRequestError(str(e), field="second") from None
