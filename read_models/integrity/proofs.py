"""Inclusion proofs: a project's events are in the log a checkpoint signed, unchanged.

A sponsor keeps a checkpoint (size, root, signature). Later, for each of the project's events,
the tracker gives its position and RFC 6962 audit path; hashing the event as it is stored now
up that path must give the signed root. The proofs are computed from the event store itself,
not from any view, so they prove what the store holds.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from application.integrity import merkle
from application.integrity.signing import TrustedKeys
from application.tracker import ImpactTracker
from read_models.integrity.checkpoints import Checkpoint
from read_models.integrity.verify import store_leaves


class InclusionProof(BaseModel):
    """One event's place in the log and the hashes that lead from it to the root."""

    version: int
    notification_id: int
    position: int
    leaf_hash: str
    path: list[str]


class ProjectProof(BaseModel):
    """Every event of a project within the first ``size`` events of the log."""

    project_id: UUID
    size: int
    root: str
    proofs: list[InclusionProof]


def project_proof(tracker: ImpactTracker, project_id: UUID, size: int) -> ProjectProof:
    """Audit paths for the project's events among the log's first ``size`` events.

    One pass over the store holding only the tree's frontier and the nodes the project's
    paths need, never the log's leaves or its tree: a leaf's left siblings are the frontier
    when it is reached, and its right siblings are caught as the frontier grows. A log
    shorter than ``size`` takes a second pass at its own size.
    """
    proof = _one_pass(tracker, project_id, size)
    if 0 < proof.size < size:
        proof = _one_pass(tracker, project_id, proof.size)
    return proof


def _one_pass(tracker: ImpactTracker, project_id: UUID, size: int) -> ProjectProof:
    """The proof if the log has ``size`` events; with fewer, only how many it has."""
    if size <= 0:
        return ProjectProof(project_id=project_id, size=0, root=merkle.EMPTY_ROOT, proofs=[])
    roots = merkle.RangeRoots([(0, size)])
    mine: list[tuple[int, int, int, str, list[merkle.Range]]] = []
    left: dict[merkle.Range, str] = {}
    for leaf in store_leaves(tracker):
        position = roots.count
        if position >= size:
            break
        if leaf.originator_id == project_id:
            path = merkle.inclusion_ranges(position, size)
            frontier = roots.subtrees()
            left.update((r, frontier[r]) for r in path if r[1] <= position)
            roots.want(r for r in path if r[1] > position)
            mine.append((leaf.version, leaf.notification_id, position, leaf.leaf_hash, path))
        roots.add(leaf.leaf_hash)
    if roots.count < size:
        root = merkle.EMPTY_ROOT if roots.count == 0 else ""
        return ProjectProof(project_id=project_id, size=roots.count, root=root, proofs=[])
    found = roots.found | left
    return ProjectProof(
        project_id=project_id,
        size=size,
        root=found[(0, size)] if size else merkle.EMPTY_ROOT,
        proofs=[
            InclusionProof(
                version=version,
                notification_id=notification_id,
                position=position,
                leaf_hash=leaf_hash,
                path=[found[r] for r in path],
            )
            for version, notification_id, position, leaf_hash, path in mine
        ],
    )


def check_proof(proof: ProjectProof, checkpoint: Checkpoint, trusted: TrustedKeys) -> list[str]:
    """What fails when the project's proof is checked against a saved checkpoint.

    The checkpoint counts only when one of the ``trusted`` keys signed it: the key it names
    is no evidence, since whoever forged it could name their own.
    """
    failures = []
    untrusted = checkpoint.trust(trusted)
    if untrusted:
        failures.append(untrusted)
    if proof.size != checkpoint.size:
        failures.append(
            f"the store holds {proof.size} of the checkpoint's {checkpoint.size} events"
        )
    for item in proof.proofs:
        implied = merkle.root_from_path(item.leaf_hash, item.position, checkpoint.size, item.path)
        if implied != checkpoint.root:
            failures.append(
                f"version {item.version} (notification {item.notification_id}) "
                "does not lead to the signed root: it was changed or moved"
            )
    if not proof.proofs:
        failures.append("the project has no events within the checkpoint")
    return failures


class ConsistencyProof(BaseModel):
    """RFC 6962 consistency proof: the log's first ``first`` events are a prefix of ``second``.

    Check it with the two signed roots (RFC 9162, 2.1.4.2); ``first_root`` and ``second_root``
    are the roots the store has now, for comparison with the checkpoints one holds.
    """

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class LogTooShortError(ValueError):
    """A proof asked for beyond the log's end."""


def consistency_proof(tracker: ImpactTracker, first: int, second: int) -> ConsistencyProof:
    """The consistency proof between the store's first ``first`` and ``second`` events.

    Computed from the event store in one pass, holding only the frontier and the proof's
    nodes (not the log).
    """
    if second > tracker.head():  # refused before reading the log (ids never undercount it)
        msg = f"the log has fewer than {second} events"
        raise LogTooShortError(msg)
    ranges = merkle.consistency_ranges(first, second)
    roots = merkle.RangeRoots([*ranges, (0, first), (0, second)])
    for leaf in store_leaves(tracker):
        if roots.count >= second:
            break
        roots.add(leaf.leaf_hash)
    if roots.count < second:
        msg = f"the log has {roots.count} events, fewer than {second}"  # ids with gaps
        raise LogTooShortError(msg)
    found = roots.found | {(0, 0): merkle.EMPTY_ROOT}
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=found[(0, first)],
        second_root=found[(0, second)],
        proof=[found[r] for r in ranges],
    )
