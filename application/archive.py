"""Backup and restore: the whole event store as one self-describing, checkable archive.

Format (gzip-compressed JSON lines): a header line, one line per stored event in commit order
(stream id, version, topic, the stored state bytes in base64), one line per person's data key
(version 2), and a trailer with the event and key counts, the SHA-256 of every line before it
and the RFC 6962 Merkle root of the events. An archive is checked in full (counts, digest,
root) before a single event is written, so a truncated or altered archive imports nothing;
importing into a store that has events is refused. The recorded-time index is rebuilt from
each event's own timestamp.

The keys travel with the events because without them the restored names and emails could
never be read. So an archive is as sensitive as the store, and one made before a person was
erased still holds their key: restoring it brings their details back (see the README).
Keys are written after the events, so a person erased while the export runs leaves no key.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.integrity import merkle
from application.persistence.recorder import PersonKeyStore
from application.personal_data import PersonKey
from application.tracker import ImpactTracker

FORMAT = "impact-tracker-archive"
VERSION = 2
READABLE_VERSIONS = {1, 2}  # version 1 archives had no keys (fellows had no names then)
BATCH = 1000

Progress = Callable[[int], None]


class ArchiveError(Exception):
    """An archive that can't be imported: truncated, altered, or the store isn't empty."""


class _Root:
    """The Merkle root of a growing list of leaves (the integrity view's tree)."""

    def __init__(self) -> None:
        self.frontier: merkle.Frontier = []

    def add(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        leaf = merkle.leaf_hash(merkle.entry(originator_id, version, topic, state))
        self.frontier = merkle.append(self.frontier, leaf)

    def value(self) -> str:
        return merkle.root(self.frontier)


def export_archive(tracker: ImpactTracker, path: Path, progress: Progress | None = None) -> int:
    """Write every stored event to ``path``; returns the number of events."""
    digest = hashlib.sha256()
    root = _Root()
    count = 0
    with gzip.open(path, "wt", encoding="utf-8") as out:

        def write(record: dict[str, Any]) -> None:
            line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
            digest.update(line.encode())
            out.write(line)

        write(
            {
                "format": FORMAT,
                "version": VERSION,
                "application": tracker.name,
                "head": tracker.head(),
            }
        )
        start = 1
        while page := tracker.recorder.select_notifications(start=start, limit=BATCH):
            for n in page:
                originator_id = _uuid(n.originator_id)
                root.add(originator_id, n.originator_version, n.topic, n.state)
                write(
                    {
                        "id": str(originator_id),
                        "v": n.originator_version,
                        "topic": n.topic,
                        "state": base64.b64encode(n.state).decode(),
                    }
                )
                count += 1
            if progress:
                progress(len(page))
            start = page[-1].id + 1
        keys = _key_store(tracker).person_keys()
        for person in keys:
            write(
                {
                    "person_key": str(person.person_id),
                    "key": base64.b64encode(person.key).decode(),
                    "created_at": person.created_at.astimezone(UTC).isoformat(),
                }
            )
        trailer = {
            "end": True,
            "events": count,
            "person_keys": len(keys),
            "sha256": digest.hexdigest(),
            "merkle_root": root.value(),
        }
        out.write(json.dumps(trailer, sort_keys=True) + "\n")
    return count


def check_archive(path: Path) -> dict[str, Any]:
    """Read the whole archive and check it; returns its trailer, or raises ArchiveError."""
    digest = hashlib.sha256()
    root = _Root()
    count = 0
    keys = 0
    trailer: dict[str, Any] | None = None
    try:
        for number, line in enumerate(_lines(path), start=1):
            record = json.loads(line)
            if trailer is not None:
                msg = f"line {number}: data after the trailer"
                raise ArchiveError(msg)
            if number == 1:
                if record.get("format") != FORMAT or record.get("version") not in READABLE_VERSIONS:
                    msg = "not an impact tracker archive (or a version this tracker can't read)"
                    raise ArchiveError(msg)
            elif record.get("end"):
                trailer = record
                continue
            elif "person_key" in record:
                _person_key(record)
                keys += 1
            else:
                event = _event(record)
                root.add(
                    _uuid(event.originator_id), event.originator_version, event.topic, event.state
                )
                count += 1
            digest.update(line.encode())
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        msg = f"the archive can't be read ({e})"
        raise ArchiveError(msg) from None
    if trailer is None:
        msg = "the archive is truncated: it has no trailer"
        raise ArchiveError(msg)
    if trailer.get("events") != count:
        msg = f"the archive is truncated: {count} events of {trailer.get('events')}"
        raise ArchiveError(msg)
    if trailer.get("person_keys", 0) != keys:
        msg = f"the archive is truncated: {keys} keys of {trailer.get('person_keys')}"
        raise ArchiveError(msg)
    if trailer.get("sha256") != digest.hexdigest():
        msg = "the archive was altered: its digest doesn't match"
        raise ArchiveError(msg)
    if trailer.get("merkle_root") != root.value():
        msg = "the archive was altered: its Merkle root doesn't match"
        raise ArchiveError(msg)
    return trailer


def import_archive(tracker: ImpactTracker, path: Path, progress: Progress | None = None) -> int:
    """Check the archive in full, then load it into an empty store; returns the event count."""
    if tracker.head():
        msg = "the store is not empty: import only into a new, empty store"
        raise ArchiveError(msg)
    trailer = check_archive(path)
    batch: list[StoredEvent] = []
    keys: list[PersonKey] = []
    for line in _lines(path):
        record = json.loads(line)
        if "id" in record:
            batch.append(_event(record))
        elif "person_key" in record:
            keys.append(_person_key(record))
        if len(batch) >= BATCH:
            _write(tracker, batch, progress)
            batch = []
    _write(tracker, batch, progress)
    if keys:
        _key_store(tracker).restore_person_keys(keys)
    return int(trailer["events"])


def _key_store(tracker: ImpactTracker) -> PersonKeyStore:
    return cast(PersonKeyStore, tracker.recorder)


def _person_key(record: dict[str, Any]) -> PersonKey:
    return PersonKey(
        person_id=UUID(record["person_key"]),
        key=base64.b64decode(record["key"]),
        created_at=datetime.fromisoformat(record["created_at"]),
    )


def _write(tracker: ImpactTracker, batch: list[StoredEvent], progress: Progress | None) -> None:
    if not batch:
        return
    tracker.recorder.insert_events(batch)
    if progress:
        progress(len(batch))


def _event(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["id"]),
        originator_version=int(record["v"]),
        topic=str(record["topic"]),
        state=base64.b64decode(record["state"]),
    )


def _lines(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        yield from source


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
