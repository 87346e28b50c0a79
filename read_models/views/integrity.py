"""The integrity view: every event's leaf and chain hash, and the Merkle frontier of the log.

Written by a tracked projection like the other views (rows and position in one transaction),
from the events' *stored* bytes. ``impact verify`` recomputes the same hashes from the event
store and compares; signed checkpoints (``read_models.integrity.checkpoints``) fix the root.

Each leaf also keeps the event's topic, so that ``verify`` can say *what* differs (the topic,
the version number, the stream, or the stored bytes) rather than only that a hash does. Views
recorded before the topic was kept get the column added empty, not rebuilt: rebuilding would
re-record the hashes from the store as it is now, which is what they are there to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    inspect,
    select,
    text,
)

from application.integrity import merkle
from read_models.envelope import Envelope
from read_models.projection import Projection, RowCache, insert_rows

metadata = MetaData()

leaves = Table(
    "integrity_leaves",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("position", BigInteger, nullable=False, unique=True),  # 0-based leaf index
    Column("originator_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Column("chain_hash", String(64), nullable=False),
    Column("topic", String(255), nullable=True),  # None in rows recorded before it was kept
)

streams = Table(
    "integrity_streams",
    metadata,
    Column("originator_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("chain_hash", String(64), nullable=False),
)

tree = Table(
    "integrity_tree",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", JSON, nullable=False),
)


class IntegrityProjection(Projection):
    """Leaf and chain hashes of every event, and the tree's frontier, exactly once."""

    name: ClassVar[str] = "integrity"
    metadata: ClassVar[MetaData] = metadata
    event_types: ClassVar[frozenset[str] | None] = None

    def create(self, engine: Engine) -> None:
        """Create the tables, and add the topic column to a view recorded without it."""
        super().create(engine)
        with engine.begin() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns(leaves.name)}
            if "topic" not in columns:
                conn.execute(text(f"ALTER TABLE {leaves.name} ADD COLUMN topic VARCHAR(255)"))

    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Hash each event into its stream's chain and the log's tree."""
        found = conn.execute(select(tree).where(tree.c.id == 1)).mappings().first()
        size = int(found["size"]) if found else 0
        frontier: merkle.Frontier = [(int(n), h) for n, h in found["frontier"]] if found else []
        heads = RowCache(conn, streams, "originator_id")
        heads.load(e.originator_id for e in events)
        new_leaves = []
        for event in events:
            data = merkle.entry(event.originator_id, event.version, event.topic, event.stored)
            head = heads.get(event.originator_id)
            chain = merkle.chain_hash(head["chain_hash"] if head else None, data)
            if head is None:
                heads.add(
                    {
                        "originator_id": event.originator_id,
                        "version": event.version,
                        "chain_hash": chain,
                    }
                )
            else:
                head.update(version=event.version, chain_hash=chain)
                heads.touch(head)
            leaf = merkle.leaf_hash(data)
            new_leaves.append(
                {
                    "notification_id": event.notification_id,
                    "position": size,
                    "originator_id": event.originator_id,
                    "version": event.version,
                    "leaf_hash": leaf,
                    "chain_hash": chain,
                    "topic": event.topic,
                }
            )
            frontier = merkle.append(frontier, leaf)
            size += 1
        insert_rows(conn, leaves, new_leaves)
        heads.flush()
        conn.execute(tree.delete())
        insert_rows(
            conn, tree, [{"id": 1, "size": size, "frontier": [[n, h] for n, h in frontier]}]
        )


def current_root(conn: Connection) -> tuple[int, str]:
    """The log's size and Merkle root as the view has them."""
    found = conn.execute(select(tree).where(tree.c.id == 1)).mappings().first()
    if found is None:
        return 0, merkle.EMPTY_ROOT
    return int(found["size"]), merkle.root([(int(n), h) for n, h in found["frontier"]])
