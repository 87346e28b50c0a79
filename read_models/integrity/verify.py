"""Recompute every hash from the event store and compare with what was recorded and signed.

The integrity view recorded each event's leaf hash when it first saw it; signed checkpoints
fixed the root of the log at their sizes. Walking the store in commit order, the first place
where the store and the recorded leaves part is named (altered, deleted, inserted or
reordered, with stream and version), each stream's versions must run 1, 2, 3..., and the root
recomputed from the store at each checkpoint's size must equal the signed root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import Engine, select

from application.integrity import merkle
from application.tracker import ImpactTracker
from read_models.integrity.checkpoints import Checkpoint, list_checkpoints
from read_models.views.integrity import leaves

PAGE = 2000


@dataclass(frozen=True)
class Leaf:
    """One event's identity and leaf hash, from the store or as recorded."""

    notification_id: int
    originator_id: UUID
    version: int
    leaf_hash: str


@dataclass(frozen=True)
class Problem:
    """Something that doesn't match, in words an auditor can act on."""

    kind: str
    detail: str
    originator_id: UUID | None = None
    version: int | None = None


@dataclass
class Report:
    """What ``verify`` found."""

    events: int = 0
    recorded: int = 0
    problems: list[Problem] = field(default_factory=list)
    checkpoints: list[tuple[Checkpoint, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem and every checkpoint holds."""
        return not self.problems and all(ok for _, ok, _ in self.checkpoints)


def store_leaves(tracker: ImpactTracker) -> Iterator[Leaf]:
    """Every stored event's leaf, in commit order, page by page (never the whole log at once)."""
    start = 1
    while page := tracker.recorder.select_notifications(start=start, limit=PAGE):
        for n in page:
            originator_id = (
                n.originator_id if isinstance(n.originator_id, UUID) else UUID(n.originator_id)
            )
            data = merkle.entry(originator_id, n.originator_version, n.topic, n.state)
            yield Leaf(n.id, originator_id, n.originator_version, merkle.leaf_hash(data))
        start = page[-1].id + 1


def recorded_leaves(engine: Engine) -> Iterator[Leaf]:
    """The leaves the integrity view recorded, in log order."""
    last = -1
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    leaves.c.position,
                    leaves.c.notification_id,
                    leaves.c.originator_id,
                    leaves.c.version,
                    leaves.c.leaf_hash,
                )
                .where(leaves.c.position > last)
                .order_by(leaves.c.position)
                .limit(PAGE)
            ).all()
        if not rows:
            return
        for row in rows:
            yield Leaf(row.notification_id, row.originator_id, row.version, row.leaf_hash)
        last = rows[-1].position


def verify(tracker: ImpactTracker, engine: Engine) -> Report:
    """Compare the store with the recorded leaves and the signed checkpoints."""
    report = Report()
    checkpoints = sorted(list_checkpoints(engine), key=lambda c: c.size)
    roots: dict[int, str] = {0: merkle.EMPTY_ROOT} if any(c.size == 0 for c in checkpoints) else {}
    wanted = {c.size for c in checkpoints}
    frontier: merkle.Frontier = []
    versions: dict[UUID, int] = {}
    recorded = recorded_leaves(engine)
    for stored in store_leaves(tracker):
        report.events += 1
        frontier = merkle.append(frontier, stored.leaf_hash)
        if report.events in wanted:
            roots[report.events] = merkle.root(frontier)
        _check_chain(report, stored, versions)
        mine = next(recorded, None)
        if mine is not None:
            report.recorded += 1
            if mine != stored and not any(p.kind in _ORDER for p in report.problems):
                report.problems.append(_classify(tracker, engine, stored, mine))
    for mine in recorded:
        report.recorded += 1
        if not any(p.kind in _ORDER for p in report.problems):
            report.problems.append(
                Problem(
                    "deleted",
                    f"event {mine.notification_id} is recorded but no longer in the store",
                    mine.originator_id,
                    mine.version,
                )
            )
    for checkpoint in checkpoints:
        report.checkpoints.append(_check(checkpoint, roots.get(checkpoint.size)))
    return report


_ORDER = {"altered", "deleted", "inserted", "reordered"}


def _check_chain(report: Report, stored: Leaf, versions: dict[UUID, int]) -> None:
    expected = versions.get(stored.originator_id, 0) + 1
    if stored.version != expected and not any(p.kind == "chain" for p in report.problems):
        report.problems.append(
            Problem(
                "chain",
                f"stream {stored.originator_id} jumps from version {expected - 1} to "
                f"{stored.version}",
                stored.originator_id,
                stored.version,
            )
        )
    versions[stored.originator_id] = stored.version


def _classify(tracker: ImpactTracker, engine: Engine, stored: Leaf, mine: Leaf) -> Problem:
    if (stored.originator_id, stored.version) == (mine.originator_id, mine.version):
        return Problem(
            "altered",
            f"stream {stored.originator_id} version {stored.version} "
            f"(notification {stored.notification_id}): stored bytes differ from "
            "what was recorded",
            stored.originator_id,
            stored.version,
        )
    with engine.connect() as conn:
        stored_was_recorded = (
            conn.execute(
                select(leaves.c.notification_id).where(
                    leaves.c.originator_id == stored.originator_id,
                    leaves.c.version == stored.version,
                )
            ).first()
            is not None
        )
    recorded_still_stored = bool(
        tracker.recorder.select_events(mine.originator_id, gt=mine.version - 1, lte=mine.version)
    )
    if not stored_was_recorded:
        return Problem(
            "inserted",
            f"stream {stored.originator_id} version {stored.version} "
            f"at notification {stored.notification_id} was never recorded",
            stored.originator_id,
            stored.version,
        )
    if not recorded_still_stored:
        return Problem(
            "deleted",
            f"stream {mine.originator_id} version {mine.version} "
            f"(notification {mine.notification_id}) is missing from the store",
            mine.originator_id,
            mine.version,
        )
    return Problem(
        "reordered",
        f"stream {stored.originator_id} version {stored.version} is "
        f"at notification {stored.notification_id}, recorded at another place",
        stored.originator_id,
        stored.version,
    )


def _check(checkpoint: Checkpoint, root: str | None) -> tuple[Checkpoint, bool, str]:
    if not checkpoint.is_signed():
        return checkpoint, False, "signature does not verify"
    if root is None:
        return checkpoint, False, f"the store has fewer than {checkpoint.size} events"
    if root != checkpoint.root:
        return checkpoint, False, "the store's root at this size differs from the signed root"
    return checkpoint, True, "consistent"
