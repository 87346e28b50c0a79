"""Recompute every hash from the event store and compare with what was recorded and signed.

The integrity view recorded each event's leaf hash, chain hash and topic when it first saw
it; signed checkpoints fixed the root of the log at their sizes. Walking the store in commit
order, ``verify``:

- names the first place where the store and the recorded leaves part: an event whose stored
  bytes, topic, version number or stream differ from those hashed when it was recorded, or one
  that was deleted, inserted (into a new or an existing stream) or moved;
- recomputes each stream's hash chain from the stored bytes and compares it with the chain
  hashes and stream heads the view recorded, and checks that versions run 1, 2, 3...;
- checks each checkpoint: signed by a *trusted* key (never merely the key the checkpoint
  names), and the store's root at its size equal to the signed root;
- checks each checkpoint against its successor with an RFC 6962 consistency proof, built from
  the store or, where the store no longer matches, from the recorded leaves: "consistent"
  means one history extends the other, whatever happened to the store since.

It reads the store and the view page by page: the log is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal
from uuid import UUID

from sqlalchemy import Engine, select

from application.integrity import merkle
from application.integrity.signing import TrustedKeys
from application.persistence.ids import as_uuid
from application.tracker import ImpactTracker
from read_models.integrity.checkpoints import Checkpoint, list_checkpoints
from read_models.views.integrity import leaves, streams

PAGE = 2000


@dataclass(frozen=True)
class Leaf:
    """One event's identity and leaf hash, from the store or as recorded."""

    notification_id: int
    originator_id: UUID
    version: int
    leaf_hash: str


@dataclass(frozen=True)
class _Stored:
    """A stored event: its leaf and the parts the leaf hash covers."""

    leaf: Leaf
    topic: str
    state: bytes

    @property
    def entry(self) -> bytes:
        return merkle.entry(self.leaf.originator_id, self.leaf.version, self.topic, self.state)


@dataclass(frozen=True)
class _Recorded:
    """A leaf as the integrity view recorded it (topic None in views recorded before it)."""

    leaf: Leaf
    chain_hash: str
    topic: str | None


@dataclass(frozen=True)
class Problem:
    """Something that doesn't match, in words an auditor can act on."""

    kind: str
    detail: str
    originator_id: UUID | None = None
    version: int | None = None


@dataclass(frozen=True)
class Consistency:
    """Whether a checkpoint's log is a prefix of its successor's (an RFC 6962 proof)."""

    first: Checkpoint
    second: Checkpoint
    status: Literal["consistent", "inconsistent", "unchecked"]
    detail: str


@dataclass
class Report:
    """What ``verify`` found."""

    events: int = 0
    recorded: int = 0
    problems: list[Problem] = field(default_factory=list)
    checkpoints: list[tuple[Checkpoint, bool, str]] = field(default_factory=list)
    consistency: list[Consistency] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem, every checkpoint holds and none contradicts its successor."""
        return (
            not self.problems
            and all(ok for _, ok, _ in self.checkpoints)
            and all(c.status != "inconsistent" for c in self.consistency)
        )

    @property
    def empty(self) -> bool:
        """Nothing was there to check: no event stored or recorded, no checkpoint."""
        return not self.events and not self.recorded and not self.checkpoints

    @property
    def unrecorded(self) -> int:
        """Stored events the integrity view has not recorded yet (it is behind)."""
        return max(self.events - self.recorded, 0)


def _store_entries(tracker: ImpactTracker) -> Iterator[_Stored]:
    start = 1
    while page := tracker.recorder.select_notifications(start=start, limit=PAGE):
        for n in page:
            originator_id = as_uuid(n.originator_id)
            data = merkle.entry(originator_id, n.originator_version, n.topic, n.state)
            leaf = Leaf(n.id, originator_id, n.originator_version, merkle.leaf_hash(data))
            yield _Stored(leaf, n.topic, n.state)
        start = page[-1].id + 1


def store_leaves(tracker: ImpactTracker) -> Iterator[Leaf]:
    """Every stored event's leaf, in commit order, page by page (never the whole log at once)."""
    return (stored.leaf for stored in _store_entries(tracker))


def _recorded_entries(engine: Engine) -> Iterator[_Recorded]:
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
                    leaves.c.chain_hash,
                    leaves.c.topic,
                )
                .where(leaves.c.position > last)
                .order_by(leaves.c.position)
                .limit(PAGE)
            ).all()
        if not rows:
            return
        for row in rows:
            leaf = Leaf(row.notification_id, row.originator_id, row.version, row.leaf_hash)
            yield _Recorded(leaf, row.chain_hash, row.topic)
        last = rows[-1].position


def recorded_leaves(engine: Engine) -> Iterator[Leaf]:
    """The leaves the integrity view recorded, in log order."""
    return (recorded.leaf for recorded in _recorded_entries(engine))


def _recorded_heads(engine: Engine) -> dict[UUID, tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(streams.c.originator_id, streams.c.version, streams.c.chain_hash)
        )
        return {r.originator_id: (r.version, r.chain_hash) for r in rows}


_ORDER = {"altered", "deleted", "inserted", "reordered"}


def verify(tracker: ImpactTracker, engine: Engine, trusted: TrustedKeys) -> Report:
    """Compare the store with the recorded leaves, chains and the trusted checkpoints."""
    report = Report()
    checkpoints = list_checkpoints(engine)
    pairs = list(pairwise(checkpoints))
    wanted: set[merkle.Range] = {(0, c.size) for c in checkpoints if c.size}
    for first, second in pairs:
        if first.size <= second.size:
            wanted.update(merkle.consistency_ranges(first.size, second.size))
    from_store, from_record = merkle.RangeRoots(wanted), merkle.RangeRoots(wanted)
    chains = _Chains(_recorded_heads(engine))
    recorded = _recorded_entries(engine)
    for stored in _store_entries(tracker):
        report.events += 1
        from_store.add(stored.leaf.leaf_hash)
        chain = chains.add(report, stored)
        mine = next(recorded, None)
        if mine is None:
            continue
        report.recorded += 1
        from_record.add(mine.leaf.leaf_hash)
        if any(p.kind in _ORDER for p in report.problems):
            continue
        if mine.leaf != stored.leaf:
            report.problems.append(_classify(tracker, engine, stored, mine))
        elif mine.chain_hash != chain:
            chains.problem(
                report,
                f"stream {stored.leaf.originator_id} version {stored.leaf.version}: its chain "
                "hash differs from the one recorded (an earlier event of the stream differs, "
                "or the recorded chain was changed)",
                stored.leaf,
            )
    for mine in recorded:
        report.recorded += 1
        from_record.add(mine.leaf.leaf_hash)
        if not any(p.kind in _ORDER for p in report.problems):
            report.problems.append(
                Problem(
                    "deleted",
                    f"stream {mine.leaf.originator_id} version {mine.leaf.version} "
                    f"(notification {mine.leaf.notification_id}) is missing from the store: "
                    "it was recorded, and the store ends before it",
                    mine.leaf.originator_id,
                    mine.leaf.version,
                )
            )
    chains.finish(report)
    report.problems.sort(key=lambda p: p.kind not in _ORDER)  # the first change, then chains
    for checkpoint in checkpoints:
        report.checkpoints.append(_check(checkpoint, trusted, report.events, from_store.found))
    for first, second in pairs:
        report.consistency.append(
            _consistency(first, second, trusted, from_store.found, from_record.found)
        )
    return report


class _Chains:
    """Each stream's hash chain recomputed from the store, checked against the recorded heads."""

    def __init__(self, heads: dict[UUID, tuple[int, str]]) -> None:
        self.heads = heads
        self.found: dict[UUID, tuple[int, str]] = {}

    def add(self, report: Report, stored: _Stored) -> str:
        leaf = stored.leaf
        version, previous = self.found.get(leaf.originator_id, (0, None))
        if leaf.version != version + 1:
            before = f"after version {version}" if version else "as its first event"
            if leaf.version <= version:
                what = "(events were moved)"
            elif leaf.version == version + 2:
                what = f"(version {version + 1} is missing, or was moved)"
            else:
                what = f"(versions {version + 1} to {leaf.version - 1} are missing, or were moved)"
            self.problem(
                report,
                f"stream {leaf.originator_id}: the log has version {leaf.version} {before} {what}",
                leaf,
            )
        chain = merkle.chain_hash(previous, stored.entry)
        self.found[leaf.originator_id] = (leaf.version, chain)
        head = self.heads.get(leaf.originator_id)
        if head is not None and head[0] == leaf.version and head[1] != chain:
            self.problem(
                report,
                f"stream {leaf.originator_id}: the chain recomputed from the store up to "
                f"version {leaf.version} differs from the recorded head",
                leaf,
            )
        return chain

    def finish(self, report: Report) -> None:
        for originator_id, (version, _) in self.heads.items():
            reached = self.found.get(originator_id, (0, ""))[0]
            if reached < version:
                self.problem(
                    report,
                    f"stream {originator_id}: versions up to {version} were recorded, but the "
                    f"store's stream ends at version {reached}",
                    Leaf(0, originator_id, reached + 1, ""),
                )

    @staticmethod
    def problem(report: Report, detail: str, leaf: Leaf) -> None:
        if not any(p.kind == "chain" for p in report.problems):
            report.problems.append(Problem("chain", detail, leaf.originator_id, leaf.version))


def _leaf(originator_id: UUID, version: int, topic: str, state: bytes) -> str:
    return merkle.leaf_hash(merkle.entry(originator_id, version, topic, state))


def _classify(tracker: ImpactTracker, engine: Engine, stored: _Stored, mine: _Recorded) -> Problem:
    """Say what differs between a stored event and the leaf recorded at its place."""
    s, m = stored.leaf, mine.leaf
    where = f"(notification {s.notification_id})"
    topic = mine.topic if mine.topic is not None else stored.topic
    if s.leaf_hash == m.leaf_hash:  # the same event, renumbered in the log
        return Problem(
            "reordered",
            f"stream {s.originator_id} version {s.version} is at notification "
            f"{s.notification_id}, but was recorded at notification {m.notification_id}",
            s.originator_id,
            s.version,
        )
    if (s.originator_id, s.version) == (m.originator_id, m.version):
        name = f"stream {s.originator_id} version {s.version} {where}"
        if mine.topic is None:
            detail = "its stored bytes or topic differ from those hashed when recorded"
        elif mine.topic != stored.topic:
            detail = f"its topic differs: recorded {mine.topic!r}, stored {stored.topic!r}"
            if _leaf(s.originator_id, s.version, mine.topic, stored.state) != m.leaf_hash:
                detail += ", and its stored bytes differ too"
        else:
            detail = "its stored bytes differ from those hashed when recorded"
        return Problem("altered", f"{name}: {detail}", s.originator_id, s.version)
    still_stored = bool(
        tracker.recorder.select_events(m.originator_id, gt=m.version - 1, lte=m.version)
    )
    # At the same place, the recorded event gone from under its own name, and the stored one
    # hashing as it did under the recorded version or stream: only that number was changed.
    if s.notification_id == m.notification_id and not still_stored:
        if s.originator_id == m.originator_id and (
            _leaf(s.originator_id, m.version, topic, stored.state) == m.leaf_hash
        ):
            return Problem(
                "altered",
                f"stream {s.originator_id} version {m.version} {where}: its version number "
                f"was changed to {s.version}",
                m.originator_id,
                m.version,
            )
        if s.version == m.version and (
            _leaf(m.originator_id, s.version, topic, stored.state) == m.leaf_hash
        ):
            return Problem(
                "altered",
                f"stream {m.originator_id} version {m.version} {where}: it was moved to "
                f"stream {s.originator_id} (its stream id was changed)",
                m.originator_id,
                m.version,
            )
    return _misplaced(engine, s, m, still_stored=still_stored)


def _misplaced(engine: Engine, s: Leaf, m: Leaf, *, still_stored: bool) -> Problem:
    """Between two different events: inserted, deleted, or moved."""
    with engine.connect() as conn:
        recorded_at = conn.execute(
            select(leaves.c.notification_id).where(
                leaves.c.originator_id == s.originator_id, leaves.c.version == s.version
            )
        ).scalar()
        recorded_head = conn.execute(
            select(streams.c.version).where(streams.c.originator_id == s.originator_id)
        ).scalar()
    if recorded_at is None:
        known = (
            f"; the stream's recorded versions run 1 to {recorded_head}"
            if recorded_head
            else "; the stream was never recorded"
        )
        return Problem(
            "inserted",
            f"stream {s.originator_id} version {s.version} at notification "
            f"{s.notification_id} was never recorded: it was inserted{known}",
            s.originator_id,
            s.version,
        )
    if not still_stored:
        return Problem(
            "deleted",
            f"stream {m.originator_id} version {m.version} (notification {m.notification_id}) "
            "is missing from the store: it was recorded, and deleted since",
            m.originator_id,
            m.version,
        )
    return Problem(
        "reordered",
        f"stream {s.originator_id} version {s.version} is at notification "
        f"{s.notification_id}, but was recorded at notification {recorded_at}: "
        "events were moved",
        s.originator_id,
        s.version,
    )


def _check(
    checkpoint: Checkpoint, trusted: TrustedKeys, events: int, roots: dict[merkle.Range, str]
) -> tuple[Checkpoint, bool, str]:
    untrusted = checkpoint.trust(trusted)
    if untrusted:
        return checkpoint, False, untrusted
    if checkpoint.size > events:
        return (
            checkpoint,
            False,
            f"the store has {events} events, fewer than the {checkpoint.size} signed",
        )
    root = roots.get((0, checkpoint.size), merkle.EMPTY_ROOT)
    if root != checkpoint.root:
        return (
            checkpoint,
            False,
            "the store's root at this size differs from the signed root: events within it "
            "were changed, deleted, inserted or moved",
        )
    return checkpoint, True, "signed by a trusted key; the store's root at this size matches"


def _consistency(
    first: Checkpoint,
    second: Checkpoint,
    trusted: TrustedKeys,
    from_store: dict[merkle.Range, str],
    from_record: dict[merkle.Range, str],
) -> Consistency:
    for checkpoint in (first, second):
        if checkpoint.trust(trusted):
            return Consistency(
                first, second, "unchecked", f"checkpoint {checkpoint.seq} is not trusted"
            )
    if second.size < first.size:
        return Consistency(
            first,
            second,
            "inconsistent",
            f"the log shrank from {first.size} to {second.size} events",
        )
    ranges = merkle.consistency_ranges(first.size, second.size)
    held = False
    for source, said in (
        (from_store, "proved from the store"),
        (from_record, "proved from the hashes recorded as the events were written"),
    ):
        if not all(r in source for r in ranges):
            continue
        held = True
        proof = [source[r] for r in ranges]
        if merkle.verify_consistency(first.size, second.size, first.root, second.root, proof):
            return Consistency(first, second, "consistent", said)
    if not held:
        return Consistency(
            first,
            second,
            "unchecked",
            f"neither the store nor the integrity view holds {second.size} events",
        )
    return Consistency(
        first,
        second,
        "inconsistent",
        f"no log extends both: the history signed at {first.size} events was rewritten "
        f"before checkpoint {second.seq} was signed",
    )
