"""Backup and restore: the whole event store as one self-describing, checkable archive.

Format (gzip-compressed JSON lines): a header line, one line per signed checkpoint (version
3), one line per stored event in commit order (stream id, version, topic, the stored state
bytes in base64), one line per person's data key (version 2), and a trailer with the counts,
the SHA-256 of every line before it and the RFC 6962 Merkle root of the events. An archive is
checked in full (counts, digest, root) before a single event is written, so a truncated or
altered archive imports nothing; importing into a store that has events is refused. The
events are read a second time to write them, each batch checked against its digest from the
first read, so a file changed in between gets nothing unchecked in. The recorded-time index
is rebuilt from each event's own timestamp.

The checkpoints are what make a backup more than self-consistent: the digest and root in the
trailer can be recomputed by whoever alters the archive, but a checkpoint's signature cannot.
So each checkpoint must be signed by a key the importing tracker trusts, and the archive's
root at the checkpoint's size must be the signed root; otherwise nothing is imported.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.integrity import merkle
from application.integrity.signing import Checkpoint, TrustedKeys
from application.persistence.ids import as_uuid
from application.persistence.recorder import PersonKeyStore
from application.personal_data import PersonKey
from application.tracker import ImpactTracker

FORMAT = "impact-tracker-archive"
VERSION = 3
# version 1 archives had no keys (fellows had no names then), version 2 no checkpoints
READABLE_VERSIONS = {1, 2, 3}
BATCH = 1000

Progress = Callable[[int], None]
CheckpointSink = Callable[[list[Checkpoint]], None]


class ArchiveError(Exception):
    """An archive that can't be imported: truncated, altered, or the store isn't empty."""


class _Root:
    """The Merkle root of a growing list of leaves (the integrity view's tree)."""

    def __init__(self) -> None:
        self.frontier: merkle.Frontier = []

    def add(self, event: StoredEvent) -> str:
        leaf = merkle.leaf_hash(
            merkle.entry(
                as_uuid(event.originator_id), event.originator_version, event.topic, event.state
            )
        )
        self.frontier = merkle.append(self.frontier, leaf)
        return leaf

    def value(self) -> str:
        return merkle.root(self.frontier)


def export_archive(
    tracker: ImpactTracker,
    path: Path,
    progress: Progress | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> int:
    """Write the signed ``checkpoints`` and every stored event to ``path``; the event count.

    The checkpoints were read before the events, so each covers a prefix of what is written.
    """
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
        for checkpoint in checkpoints:
            write(
                {
                    "checkpoint": checkpoint.seq,
                    "size": checkpoint.size,
                    "root": checkpoint.root,
                    "signed_at": checkpoint.signed_at.astimezone(UTC).isoformat(),
                    "public_key": checkpoint.public_key,
                    "signature": checkpoint.signature,
                }
            )
        start = 1
        while page := tracker.recorder.select_notifications(start=start, limit=BATCH):
            for n in page:
                originator_id = as_uuid(n.originator_id)
                root.add(n)
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
            "checkpoints": len(checkpoints),
            "sha256": digest.hexdigest(),
            "merkle_root": root.value(),
        }
        out.write(json.dumps(trailer, sort_keys=True) + "\n")
    return count


def check_archive(path: Path, trusted: TrustedKeys = frozenset()) -> dict[str, Any]:
    """Read the whole archive and check it; returns its trailer, or raises ArchiveError."""
    return _check(path, trusted).trailer


@dataclass
class _Checked:
    """What a full read of an archive found good: all an import needs but the events.

    The events are too many to hold, so the import reads them again; ``batches`` has the
    SHA-256 of each ``BATCH`` of event lines as checked, so a batch that reads differently
    the second time (the file changed in between) is refused before it is written.
    """

    trailer: dict[str, Any]
    checkpoints: list[Checkpoint]
    keys: list[PersonKey]
    batches: list[str]


class _Events:
    """The event lines of an archive as they are read: checked, hashed, counted."""

    def __init__(self, checkpoints: list[Checkpoint]) -> None:
        self.root = _Root()
        self.at_sizes = merkle.RangeRoots((0, c.size) for c in checkpoints)
        self.versions: dict[UUID, int] = {}  # each stream's last version so far
        self.count = 0
        self.batches: list[str] = []
        self.batch = hashlib.sha256()

    def add(self, number: int, line: str, event: StoredEvent) -> None:
        """One more event, from line ``number``."""
        self._check_version(number, event)
        self.at_sizes.add(self.root.add(event))
        self.count += 1
        self.batch.update(line.encode())
        if self.count % BATCH == 0:
            self.batches.append(self.batch.hexdigest())
            self.batch = hashlib.sha256()

    def finish(self) -> None:
        """Close the last, partial batch."""
        if self.count % BATCH:
            self.batches.append(self.batch.hexdigest())

    def _check_version(self, number: int, event: StoredEvent) -> None:
        """Each stream's versions run 1, 2, 3... in the log, as the store itself keeps them.

        An archive that breaks this would stop the import part-way (the store refuses a
        repeated version), with the batches before it written: so it is refused here.
        """
        stream = as_uuid(event.originator_id)
        last = self.versions.get(stream, 0)
        if event.originator_version != last + 1:
            msg = (
                f"the archive was altered: line {number}: stream {stream} version "
                f"{event.originator_version} comes after version {last}"
                if last
                else f"the archive was altered: line {number}: stream {stream} starts at "
                f"version {event.originator_version}, not 1"
            )
            raise ArchiveError(msg)
        self.versions[stream] = last + 1


def _check(path: Path, trusted: TrustedKeys) -> _Checked:
    digest = hashlib.sha256()
    keys: list[PersonKey] = []
    checkpoints: list[Checkpoint] = []
    events: _Events | None = None
    trailer: dict[str, Any] | None = None
    try:
        for number, line in enumerate(_lines(path), start=1):
            record = json.loads(line)
            if not isinstance(record, dict):
                msg = f"line {number} is not a record"
                raise ValueError(msg)
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
            elif "checkpoint" in record:
                if events is not None:
                    msg = f"line {number}: a checkpoint after the events"
                    raise ArchiveError(msg)
                checkpoints.append(_checkpoint(record))
            elif "person_key" in record:
                keys.append(_person_key(record))
            else:
                events = events or _Events(checkpoints)
                events.add(number, line, _event(record))
            digest.update(line.encode())
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        msg = f"the archive can't be read ({e})"
        raise ArchiveError(msg) from None
    events = events or _Events(checkpoints)
    events.finish()
    found = {
        "events": events.count,
        "person_keys": len(keys),
        "checkpoints": len(checkpoints),
        "sha256": digest.hexdigest(),
        "merkle_root": events.root.value(),
    }
    trailer = _check_trailer(trailer, found)
    for checkpoint in checkpoints:
        _check_checkpoint(checkpoint, events.count, events.at_sizes.found, trusted)
    return _Checked(trailer, checkpoints, keys, events.batches)


def _check_trailer(trailer: dict[str, Any] | None, found: dict[str, Any]) -> dict[str, Any]:
    """The trailer, if the archive read holds what it says (counts first, then digests)."""
    if trailer is None:
        msg = "the archive is truncated: it has no trailer"
        raise ArchiveError(msg)
    for what in ("events", "person_keys", "checkpoints"):
        stated = trailer.get(what, 0 if what != "events" else None)
        if stated != found[what]:
            msg = f"the archive is truncated: {found[what]} {what.replace('_', ' ')} of {stated}"
            raise ArchiveError(msg)
    if trailer.get("sha256") != found["sha256"]:
        msg = "the archive was altered: its digest doesn't match"
        raise ArchiveError(msg)
    if trailer.get("merkle_root") != found["merkle_root"]:
        msg = "the archive was altered: its Merkle root doesn't match"
        raise ArchiveError(msg)
    return trailer


def _check_checkpoint(
    checkpoint: Checkpoint, count: int, roots: dict[merkle.Range, str], trusted: TrustedKeys
) -> None:
    name = f"checkpoint {checkpoint.seq} ({checkpoint.size} events)"
    untrusted = checkpoint.trust(trusted)
    if untrusted:
        msg = f"{name}: {untrusted}"
        raise ArchiveError(msg)
    if checkpoint.size > count:
        msg = f"{name}: the archive holds only {count} events"
        raise ArchiveError(msg)
    if roots.get((0, checkpoint.size), merkle.EMPTY_ROOT) != checkpoint.root:
        msg = (
            f"the archive was altered: {name}: the archive's Merkle root at that size "
            "differs from the signed root"
        )
        raise ArchiveError(msg)


def import_archive(
    tracker: ImpactTracker,
    path: Path,
    progress: Progress | None = None,
    *,
    trusted: TrustedKeys = frozenset(),
    restore_checkpoints: CheckpointSink | None = None,
) -> int:
    """Check the archive in full, then load it into an empty store; returns the event count.

    Every checkpoint in it must be signed by one of the ``trusted`` keys and agree with the
    archive's events. They are handed to ``restore_checkpoints`` after all checks and before
    the first event is written, so a refusal there (the views already keep checkpoints)
    also leaves the store untouched.
    """
    if tracker.head():
        msg = "the store is not empty: import only into a new, empty store"
        raise ArchiveError(msg)
    checked = _check(path, trusted)
    if checked.checkpoints and restore_checkpoints is None:
        msg = (
            f"the archive has {len(checked.checkpoints)} checkpoint(s) and nowhere to restore them"
        )
        raise ArchiveError(msg)
    if restore_checkpoints is not None:
        restore_checkpoints(checked.checkpoints)
    expected = iter(checked.batches)
    batch: list[StoredEvent] = []
    digest = hashlib.sha256()

    def write() -> None:
        if batch and digest.hexdigest() != next(expected, None):
            msg = (
                "the archive changed while it was imported: the events after the "
                f"{tracker.head()} written differ from those checked"
            )
            raise ArchiveError(msg)
        _write(tracker, batch, progress)

    for line in _lines(path):
        record = json.loads(line)
        if isinstance(record, dict) and "id" in record and "v" in record:
            batch.append(_event(record))
            digest.update(line.encode())
        if len(batch) >= BATCH:
            write()
            batch, digest = [], hashlib.sha256()
    write()
    if next(expected, None) is not None:
        msg = (
            f"the archive changed while it was imported: it ends after {tracker.head()} "
            f"events of the {checked.trailer['events']} checked"
        )
        raise ArchiveError(msg)
    if checked.keys:
        _key_store(tracker).restore_person_keys(checked.keys)
    return int(checked.trailer["events"])


def _key_store(tracker: ImpactTracker) -> PersonKeyStore:
    return cast(PersonKeyStore, tracker.recorder)


def _checkpoint(record: dict[str, Any]) -> Checkpoint:
    return Checkpoint(
        seq=int(record["checkpoint"]),
        size=int(record["size"]),
        root=str(record["root"]),
        signed_at=datetime.fromisoformat(record["signed_at"]),
        public_key=str(record["public_key"]),
        signature=str(record["signature"]),
    )


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
