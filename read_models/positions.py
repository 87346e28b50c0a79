"""Each view's tracking position: the last notification id it has applied.

A view's rows and its position are written in the same transaction, so after a crash a view
resumes exactly after the last page it committed: nothing is applied twice or missed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, select

metadata = MetaData()

positions = Table(
    "view_positions",
    metadata,
    Column("view", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


schemas = Table(
    "view_schemas",
    metadata,
    Column("view", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
)


def read_position(conn: Connection, view: str) -> int:
    """The view's committed position (0 before its first page)."""
    found = conn.execute(select(positions.c.position).where(positions.c.view == view)).scalar()
    return int(found or 0)


def write_position(conn: Connection, view: str, position: int) -> None:
    """Move the view's position, in the caller's transaction."""
    updated = conn.execute(
        positions.update().where(positions.c.view == view).values(position=position)
    )
    if updated.rowcount == 0:
        conn.execute(positions.insert().values(view=view, position=position))


def all_positions(engine: Engine) -> dict[str, int]:
    """Every view's committed position."""
    with engine.connect() as conn:
        return {row.view: int(row.position) for row in conn.execute(select(positions))}
