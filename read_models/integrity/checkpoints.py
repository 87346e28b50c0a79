"""Signed checkpoints: (log size, Merkle root, time), kept for good (never rebuilt)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
)

from application.integrity.signing import Signer, checkpoint_message
from read_models.queries.common import UtcDateTime
from read_models.views.integrity import current_root

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


class Checkpoint(BaseModel):
    """A signed statement of the log's size and root at a time."""

    seq: int
    size: int
    root: str
    signed_at: UtcDateTime
    public_key: str
    signature: str

    @property
    def message(self) -> bytes:
        """What the signature covers."""
        return checkpoint_message(
            self.size, self.root, self.signed_at.replace(tzinfo=None).isoformat()
        )

    def is_signed(self) -> bool:
        """Whether the signature holds for the stated key."""
        return Signer.verify(self.public_key, self.message, self.signature)


def create_checkpoint(engine: Engine, signer: Signer) -> Checkpoint:
    """Sign the integrity view's current size and root."""
    metadata.create_all(engine)
    signed_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        size, root = current_root(conn)
        message = checkpoint_message(size, root, signed_at.isoformat())
        seq = conn.execute(
            checkpoints.insert().values(
                size=size,
                root=root,
                signed_at=signed_at,
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
