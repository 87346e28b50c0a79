"""Signed checkpoints: (log size, Merkle root, time), kept for good (never rebuilt).

They are signed on demand (``impact checkpoint``, ``POST /api/integrity/checkpoints``) and,
with ``IMPACT_CHECKPOINT_EVERY_SECONDS``, by the projection follower (``PeriodicCheckpoints``).
Backups carry them (``impact export --all``) and a restore puts them back with their numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    text,
)

from application.integrity.signing import Checkpoint, Signer, checkpoint_message
from read_models.views.integrity import current_root

__all__ = [
    "Checkpoint",
    "CheckpointsExistError",
    "PeriodicCheckpoints",
    "create_checkpoint",
    "latest_checkpoint",
    "list_checkpoints",
    "restore_checkpoints",
]

metadata = MetaData()

checkpoints = Table(
    "integrity_checkpoints",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", String(64), nullable=False),
    Column("signed_at", DateTime, nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)


class CheckpointsExistError(Exception):
    """Restoring checkpoints where some are kept already (they belong to another log)."""


def _now() -> datetime:
    return datetime.now(UTC)


def create_checkpoint(
    engine: Engine, signer: Signer, signed_at: datetime | None = None
) -> Checkpoint:
    """Sign the integrity view's current size and root (at ``signed_at``, default now)."""
    metadata.create_all(engine)
    moment = (signed_at or _now()).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        size, root = current_root(conn)
        message = checkpoint_message(size, root, moment.isoformat())
        seq = conn.execute(
            checkpoints.insert().values(
                size=size,
                root=root,
                signed_at=moment,
                public_key=signer.public_key_hex,
                signature=signer.sign(message),
            )
        ).inserted_primary_key
        assert seq is not None
    found = list_checkpoints(engine)
    return next(c for c in found if c.seq == seq[0])


def list_checkpoints(engine: Engine) -> list[Checkpoint]:
    """Every checkpoint, oldest first."""
    metadata.create_all(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(checkpoints).order_by(checkpoints.c.seq)).mappings().all()
    return [Checkpoint.model_validate(dict(r)) for r in rows]


def latest_checkpoint(engine: Engine) -> Checkpoint | None:
    """The most recent checkpoint, if any."""
    metadata.create_all(engine)
    with engine.connect() as conn:
        row = (
            conn.execute(select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(1))
            .mappings()
            .first()
        )
    return Checkpoint.model_validate(dict(row)) if row else None


def restore_checkpoints(engine: Engine, restored: Sequence[Checkpoint]) -> None:
    """Put back a backup's checkpoints, numbers and all; refused where any are kept already.

    Kept checkpoints would belong to the log that was there before, and ``verify`` would
    then fail against them; the operator should move that views database aside first.
    """
    metadata.create_all(engine)
    with engine.begin() as conn:
        kept = conn.execute(select(func.count()).select_from(checkpoints)).scalar_one()
        if kept:
            msg = (
                f"the views database already keeps {kept} checkpoint(s) of another log: "
                "move it aside (or use a new data directory) before restoring"
            )
            raise CheckpointsExistError(msg)
        if not restored:
            return
        conn.execute(
            checkpoints.insert(),
            [
                {
                    "seq": c.seq,
                    "size": c.size,
                    "root": c.root,
                    "signed_at": c.signed_at.astimezone(UTC).replace(tzinfo=None),
                    "public_key": c.public_key,
                    "signature": c.signature,
                }
                for c in restored
            ],
        )
        if conn.dialect.name == "postgresql":
            # Rows written with their own numbers leave the serial behind: move it past them.
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('integrity_checkpoints', 'seq'), "
                    "(SELECT MAX(seq) FROM integrity_checkpoints))"
                )
            )


class PeriodicCheckpoints:
    """Signs a checkpoint when ``every`` has passed since the last one and the log has grown.

    The projection follower calls ``tick`` on each round; ``clock`` is injectable so tests
    need no waiting. The interval runs from the latest *kept* checkpoint (whoever signed it),
    so a restart or an on-demand checkpoint does not bring the next one forward.
    """

    def __init__(
        self,
        engine: Engine,
        signer: Callable[[], Signer],
        every_seconds: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.every = timedelta(seconds=every_seconds)
        self.clock = clock
        self._next_look: datetime | None = None

    def tick(self) -> Checkpoint | None:
        """Sign a checkpoint if one is due and the log has grown; the new one, or None."""
        now = self.clock()
        if self._next_look is not None and now < self._next_look:
            return None
        latest = latest_checkpoint(self.engine)
        if latest is not None and now < latest.signed_at + self.every:
            self._next_look = latest.signed_at + self.every
            return None
        with self.engine.connect() as conn:
            size, _ = current_root(conn)
        if size == 0 or (latest is not None and size <= latest.size):
            # Nothing new to sign: look again a little later (a query, not a signature).
            self._next_look = now + min(self.every, timedelta(seconds=5))
            return None
        # Set before signing, so a missing key (production) is retried once an interval,
        # not on every round of the follower.
        self._next_look = now + self.every
        return create_checkpoint(self.engine, self.signer(), signed_at=now)
