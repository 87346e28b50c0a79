"""Single changes to a SQLite event store, made with plain SQL as an intruder would.

Each returns the events (stream, version) it touched; ``CHANGES`` says what ``verify`` must
call each one and words its report must use.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from application.bootstrap import create_tracker
from application.integrity.signing import trusted_keys
from application.settings import Settings
from read_models.bootstrap import create_read_side
from read_models.integrity.verify import Report, verify

Touched = set[tuple[uuid.UUID, int]]  # the (stream, version) of each event a change touched


def verify_data(data: Path) -> Report:
    """``verify`` the store and views under ``data``, trusting its own signing key."""
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    try:
        return verify(tracker, read_side.engine, trusted_keys(settings))
    finally:
        read_side.close()
        tracker.close()


def copy_store(pristine: Path, target: Path) -> Path:
    """A copy of the data directory to tamper with."""
    shutil.copytree(pristine, target)
    return target


def key_of(db: sqlite3.Connection, rowid: int) -> tuple[uuid.UUID, int]:
    """The (stream, version) of the stored event in that row."""
    originator, version = db.execute(
        "SELECT originator_id, originator_version FROM stored_events WHERE rowid = ?", (rowid,)
    ).fetchone()
    return uuid.UUID(originator), version


def alter_bytes(db: sqlite3.Connection, rng: random.Random, rowid: int) -> Touched:
    """Flip one bit of the event's stored bytes."""
    (state,) = db.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()
    changed = bytearray(state)
    at = rng.randrange(len(changed))
    changed[at] ^= 1 << rng.randrange(8)
    db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(changed), rowid))
    return {key_of(db, rowid)}


def delete_event(db: sqlite3.Connection, _: random.Random, rowid: int) -> Touched:
    """Delete the event."""
    key = key_of(db, rowid)
    db.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
    return {key}


def swap_events(db: sqlite3.Connection, rng: random.Random, rowid: int) -> Touched:
    """Swap the event's place in the log with another's."""
    (last,) = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    other = rng.choice([r for r in range(1, last + 1) if r != rowid])
    keys = {key_of(db, rowid), key_of(db, other)}
    db.execute("UPDATE stored_events SET rowid = -1 WHERE rowid = ?", (rowid,))
    db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = ?", (rowid, other))
    db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = -1", (other,))
    return keys


def change_topic(db: sqlite3.Connection, rng: random.Random, rowid: int) -> Touched:
    """Give the event another event type's topic."""
    (topic,) = db.execute("SELECT topic FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()
    others = [t for (t,) in db.execute("SELECT DISTINCT topic FROM stored_events") if t != topic]
    db.execute(
        "UPDATE stored_events SET topic = ? WHERE rowid = ?", (rng.choice(sorted(others)), rowid)
    )
    return {key_of(db, rowid)}


def renumber(db: sqlite3.Connection, _: random.Random, rowid: int) -> Touched:
    """Give the event the version after its stream's last."""
    originator, version = key_of(db, rowid)
    (last,) = db.execute(
        "SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?",
        (originator.hex,),
    ).fetchone()
    db.execute("UPDATE stored_events SET originator_version = ? WHERE rowid = ?", (last + 1, rowid))
    return {(originator, version), (originator, last + 1)}


def forge_at(db: sqlite3.Connection, rowid: int, originator: uuid.UUID, version: int) -> None:
    """Insert a copy of the event at ``rowid`` there, as ``originator`` ``version``."""
    topic, state = db.execute(
        "SELECT topic, state FROM stored_events WHERE rowid = ?", (rowid,)
    ).fetchone()
    db.execute("UPDATE stored_events SET rowid = rowid + 1000000 WHERE rowid >= ?", (rowid,))
    db.execute("UPDATE stored_events SET rowid = rowid - 999999 WHERE rowid >= 1000000")
    db.execute(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
        "state) VALUES (?, ?, ?, ?, ?)",
        (rowid, originator.hex, version, topic, state),
    )


def insert_new_stream(db: sqlite3.Connection, _: random.Random, rowid: int) -> Touched:
    """A forged first event of a new stream, slipped in at ``rowid``."""
    forged = uuid.uuid4()
    forge_at(db, rowid, forged, 1)
    return {(forged, 1)}


def append_to_stream(db: sqlite3.Connection, rng: random.Random, rowid: int) -> Touched:
    """A forged event at the end of an existing stream, slipped in anywhere in the log."""
    (last_row,) = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    originator, _ = key_of(db, rng.randint(1, last_row))
    (last,) = db.execute(
        "SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?",
        (originator.hex,),
    ).fetchone()
    forge_at(db, rowid, originator, last + 1)
    return {(originator, last + 1)}


Change = Callable[[sqlite3.Connection, random.Random, int], Touched]

# Each change: what it does, the kind of problem verify must report, and words its detail says.
CHANGES: dict[str, tuple[Change, str, str]] = {
    "bytes": (alter_bytes, "altered", "its stored bytes differ from those hashed when recorded"),
    "topic": (change_topic, "altered", "its topic differs: recorded "),
    "version": (renumber, "altered", "its version number was changed to "),
    "delete": (delete_event, "deleted", "is missing from the store"),
    "swap": (swap_events, "reordered", "but was recorded at notification"),
    "insert": (insert_new_stream, "inserted", "the stream was never recorded"),
    "append": (append_to_stream, "inserted", "the stream's recorded versions run 1 to "),
}
KINDS = {kind for _, kind, _ in CHANGES.values()}


def tamper(data: Path, change: Change, rng: random.Random) -> Touched:
    """Make one change to the SQLite event store under ``data``; the events it touched."""
    db = sqlite3.connect(data / "events.sqlite")
    (last,) = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    touched = change(db, rng, rng.randint(1, last))
    db.commit()
    db.close()
    return touched
