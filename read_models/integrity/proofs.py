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


class _Tree:
    """Subtree roots over a fixed list of leaves, computed once each (RFC 6962 splits)."""

    def __init__(self, leaves: list[str]) -> None:
        self.leaves = leaves
        self.memo: dict[tuple[int, int], str] = {}

    def root(self, start: int, end: int) -> str:
        if end - start == 1:
            return self.leaves[start]
        key = (start, end)
        if key not in self.memo:
            split = start + (1 << ((end - start - 1).bit_length() - 1))
            self.memo[key] = merkle.node_hash(self.root(start, split), self.root(split, end))
        return self.memo[key]

    def path(self, index: int, start: int, end: int) -> list[str]:
        if end - start <= 1:
            return []
        split = start + (1 << ((end - start - 1).bit_length() - 1))
        if index < split:
            return [*self.path(index, start, split), self.root(split, end)]
        return [*self.path(index, split, end), self.root(start, split)]


def project_proof(tracker: ImpactTracker, project_id: UUID, size: int) -> ProjectProof:
    """Audit paths for the project's events among the log's first ``size`` events."""
    leaves: list[str] = []
    mine: list[tuple[int, int, int]] = []  # (version, notification id, position)
    for position, leaf in enumerate(store_leaves(tracker)):
        if position >= size:
            break
        leaves.append(leaf.leaf_hash)
        if leaf.originator_id == project_id:
            mine.append((leaf.version, leaf.notification_id, position))
    tree = _Tree(leaves)
    root = tree.root(0, len(leaves)) if leaves else merkle.EMPTY_ROOT
    return ProjectProof(
        project_id=project_id,
        size=len(leaves),
        root=root,
        proofs=[
            InclusionProof(
                version=v,
                notification_id=n,
                position=p,
                leaf_hash=leaves[p],
                path=tree.path(p, 0, len(leaves)),
            )
            for v, n, p in mine
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
